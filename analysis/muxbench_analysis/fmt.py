"""Numbers for people: times, sizes and rates with their unit."""
import math


def _g(v, digits=2):
    """Two significant digits, but never an exponent and never drop integer digits."""
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.0f" % v if digits <= 2 else "%.1f" % v
    if a >= 1:
        return "%.1f" % v
    return ("%." + str(max(1, digits - 1 - int(math.floor(math.log10(a))))) + "f") % v


def ns(v):
    """A duration in ns -> '220 ns', '2.6 µs', '25 µs', '1.3 ms', '0.25 s'."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    a = abs(v)
    if a < 1e3:
        return "%s ns" % _g(v)
    if a < 1e6:
        return "%s µs" % _g(v / 1e3)
    if a < 1e9:
        return "%s ms" % _g(v / 1e6)
    return "%s s" % _g(v / 1e9)


def ns_fine(v):
    """A small duration in ns, keeping two significant digits below 0.1 ns: '0.0042 ns'.
    For per-fd costs, which can be a few thousandths of a ns."""
    if abs(v) >= 0.1 or v == 0 or v is None or (isinstance(v, float) and math.isnan(v)):
        return "%s ns" % _g(v)
    digits = 1 - int(math.floor(math.log10(abs(v))))
    return "%.*f ns" % (digits, v)


def nbytes(v):
    """A size in bytes -> '4.1 KiB', '8.0 MiB', '82 GiB' (binary units, as the kernel counts)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(v) >= k:
            return "%s %s" % (_g(v / k), unit)
    return "%.0f B" % v


def rate(v, what=""):
    """Per second -> '210k/s', '6.5 M/s', or with what='tasks': '210k tasks/s'."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    sp = " %s" % what if what else ""
    if abs(v) >= 1e6:
        return "%s M%s/s" % (_g(v / 1e6), sp)
    if abs(v) >= 1e3:
        return "%sk%s/s" % (_g(v / 1e3), sp)
    return "%s%s/s" % (_g(v), sp)


def pct(v):
    return "%s%%" % _g(100.0 * v)


def count(v):
    return "{:,}".format(int(round(v)))
