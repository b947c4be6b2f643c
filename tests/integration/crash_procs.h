/* crash_procs.h - the keys and values of the concurrency test, shared by its writer and its checker.
 *
 * Thread t of child process p writes, for i = 0 .. ops-1: when i % 10 == 9 the
 * shared key "conc:s:<(i / 10) % CONC_SHARED>" (every thread writes those), else
 * its own key "conc:d:<p>:<t>:<i % CONC_KEYS>" with crash_procs_value(p, t, i)
 * and flags i.
 */
#ifndef CRASH_PROCS_H
#define CRASH_PROCS_H

#include <stddef.h>
#include <stdint.h>

#define CONC_KEYS 200   /* own keys per thread */
#define CONC_SHARED 8   /* keys every thread writes */
#define CONC_VALUE_MAX 160

/** Is operation i of a thread a write to a shared key? */
static inline int crash_procs_shared(long i)
{
	return i % 10 == 9;
}

/** The value thread t of process p writes at operation i into buf; returns its length. */
size_t crash_procs_value(int p, int t, long i, char *buf);

#endif
