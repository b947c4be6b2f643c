/* pace.c - when the drainer applies what waits: now, or once a burst of writes has passed.
 *
 * The drainer applies the journal in steps of a bounded number of records,
 * napping between them while writes flow. During a burst (a pipelining
 * client, a bulk load: a megabyte or more of journal in one nap) applying
 * at once puts it on a CPU the writers and their server want: on two CPUs a
 * pipelining client measured 0.83 of no shim with the drainer working during
 * its bursts, 0.94 with the drainer held off (docs/PERFORMANCE.md). The
 * journal is there to absorb such bursts: the drainer holds a burst there for
 * MCM_PACE_BURST_MS at most, then applies it in full steps, which also cost
 * less a write than small ones. It stops holding at once when asked (a wake:
 * a process exiting, a tool waiting for the mirror, a ring half full) and
 * when the burst fills half the ring. Only a burst after a quiet spell is
 * held: under a steady rate the drainer cannot follow in naps (full steps),
 * holding would only add to the mirror's lag, so it applies at once.
 */
#include "mcm_drain.h"

enum { IDLE, HOLDING, DRAINING };

int mcm_drain_pace(struct mcm_drain_pace *p, int woken, uint64_t now_ms, uint64_t backlog, uint64_t ring)
{
	int room = backlog < ring / MCM_PACE_BURST_SHARE;
	int quiet = !p->busy || now_ms - p->busy_ms >= MCM_PACE_QUIET_MS;

	if (woken)
		p->state = DRAINING;
	if (p->state == IDLE && backlog >= MCM_PACE_BURST_BYTES && room && quiet) {
		p->state = HOLDING;
		p->since_ms = now_ms;
	}
	if (p->state == HOLDING && (now_ms - p->since_ms >= MCM_PACE_BURST_MS || !room))
		p->state = DRAINING;
	return p->state == HOLDING ? MCM_PACE_HOLD : MCM_PACE_STEP;
}

void mcm_drain_paced(struct mcm_drain_pace *p, int full, uint64_t now_ms)
{
	if (full) {
		p->busy = 1;
		p->busy_ms = now_ms;
	} else {
		p->state = IDLE;
	}
}
