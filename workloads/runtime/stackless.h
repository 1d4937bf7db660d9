/*
 * stackless.h - stackless coroutines: the other end of the memory spectrum from coro.h.
 *
 * A stackless coroutine is a state machine. Its function is re-entered from the top on every
 * resume and jumps to where it last suspended (a switch on a resume point, the shape of
 * protothreads or of a compiler's lowering of async functions); everything that must live
 * across a suspension is a field of its frame, a struct the caller allocates, and nothing else
 * survives: there is no stack to keep. So a parked coroutine costs exactly its frame, and a
 * switch is one indirect call and a jump in, one store and a return out.
 *
 * What it cannot do (the price of owning no stack): suspend from a nested call (only the
 * coroutine's own function can suspend; a callee that must wait is a coroutine of its own,
 * resumed from the caller's body), or keep a local across a suspension (it must be a field).
 *
 *      struct counter { struct stackless base; long n; };
 *      static int counter_step(struct stackless *s)
 *      {
 *          struct counter *c = (struct counter *)s;
 *          STACKLESS_BEGIN(s);
 *          for (;;) {
 *              c->n++;
 *              STACKLESS_YIELD(s);
 *          }
 *          STACKLESS_END(s);
 *      }
 *
 * A resume+yield round trip is stackless_resume() returning STACKLESS_YIELDED: two switches,
 * as coro.h counts them. Single-threaded like coro.h; frames are the caller's to free.
 */
#ifndef MUX_STACKLESS_H
#define MUX_STACKLESS_H

enum { STACKLESS_YIELDED = 0, STACKLESS_FINISHED = 1 };

struct stackless {
    int (*step)(struct stackless *self); /* the coroutine's function: runs to its next
                                            suspension and says which it was */
    int resume_at;                       /* 0: the start; -1: finished; else a line number */
};

/* Sets up a frame whose first member is a struct stackless, to start at the top of step. */
void stackless_init(struct stackless *s, int (*step)(struct stackless *));
/* Runs s to its next suspension: STACKLESS_YIELDED or STACKLESS_FINISHED; -1 when it had
 * already finished. Out of line, so a caller pays a real call, as it would across units. */
int stackless_resume(struct stackless *s);

/* The body of a step function sits between BEGIN and END; YIELD suspends it there. Resume
 * points are line numbers: one YIELD per line. */
#define STACKLESS_BEGIN(s)                                                                     \
    switch ((s)->resume_at) {                                                                  \
    case 0:
#define STACKLESS_YIELD(s)                                                                     \
    do {                                                                                       \
        (s)->resume_at = __LINE__;                                                             \
        return STACKLESS_YIELDED;                                                              \
    case __LINE__:;                                                                            \
    } while (0)
#define STACKLESS_END(s)                                                                       \
    }                                                                                          \
    (s)->resume_at = -1;                                                                       \
    return STACKLESS_FINISHED

#endif
