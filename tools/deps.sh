#!/bin/sh
# deps.sh check|install|list - the system packages muxbench needs.
#   check    exit 0 when everything needed to build and test is present, else 1 (names what is missing)
#   install  installs them: apt-get on Debian/Ubuntu (as root, or through sudo);
#            elsewhere prints the equivalent packages for Fedora and macOS
#   list     prints the Debian package names
set -eu

# iproute2: `ip`, for echo's transport=veth (two network namespaces joined by a veth pair)
DEB_PACKAGES="cmake make gcc g++ pkg-config libbenchmark-dev liburing-dev libhwloc-dev \
libevent-dev libev-dev libuv1-dev python3-pandas python3-matplotlib jupyter-nbconvert \
python3-ipykernel python3-scipy iproute2"
FEDORA_PACKAGES="cmake make gcc gcc-c++ pkgconf-pkg-config google-benchmark-devel liburing-devel \
hwloc-devel libevent-devel libev-devel libuv-devel python3-pandas python3-matplotlib \
python3-nbconvert python3-ipykernel python3-scipy iproute"
BREW_PACKAGES="cmake pkg-config google-benchmark hwloc libevent libev libuv jupyterlab \
(pip: pandas matplotlib nbconvert ipykernel scipy)"

missing_debs() {
    for p in $DEB_PACKAGES; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
            printf '%s ' "$p"
    done
}

case "${1:-check}" in
list)
    echo "$DEB_PACKAGES"
    ;;
check)
    if command -v dpkg-query >/dev/null 2>&1; then
        m=$(missing_debs)
        if [ -n "$m" ]; then
            echo "deps: missing Debian packages: $m" >&2
            exit 1
        fi
        exit 0
    fi
    # Not Debian: trust what CMake finds; it says what it disables.
    exit 0
    ;;
install)
    if command -v apt-get >/dev/null 2>&1; then
        m=$(missing_debs)
        [ -z "$m" ] && { echo "deps: all packages present"; exit 0; }
        sudo=""
        if [ "$(id -u)" != 0 ]; then
            command -v sudo >/dev/null 2>&1 || {
                echo "deps: need root to install: $m" >&2
                exit 3
            }
            sudo=sudo
        fi
        echo "deps: installing $m" >&2
        $sudo apt-get update
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $m
    elif command -v dnf >/dev/null 2>&1; then
        echo "deps: on Fedora, run: sudo dnf install $FEDORA_PACKAGES" >&2
        exit 3
    elif [ "$(uname -s)" = Darwin ]; then
        echo "deps: on macOS, run: brew install $BREW_PACKAGES" >&2
        exit 3
    else
        echo "deps: unknown system; the Debian names are: $DEB_PACKAGES" >&2
        exit 3
    fi
    ;;
*)
    echo "usage: $0 check|install|list" >&2
    exit 2
    ;;
esac
