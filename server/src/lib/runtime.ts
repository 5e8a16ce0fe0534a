import v8 from 'node:v8';

/**
 * Process-wide V8 settings for a server that polls on its event loop while the embedded store works on a
 * thread of its own (DESIGN.md: two cores).
 *
 * Young-generation collections (scavenges) run on the thread that allocates, helped by V8's worker threads.
 * With both cores busy — the event loop probing and the store thread writing a history pass — the event
 * loop waits for a helper that is not scheduled: a 1–20 ms scavenge became clusters of 20–46 ms pauses, and
 * the event loop's worst stall over a 150,000-point polling run went from ~60 ms to 100–500 ms. Scavenging
 * on the allocating thread alone ends those waits (BENCHMARKS.md, Polling, 2026-12-03 19:36). Concurrent
 * marking and sweeping are kept. `GC_PARALLEL_SCAVENGE=true` restores V8's default (machines with spare cores).
 *
 * The flag is read by V8 at every scavenge, so setting it after start takes effect for every thread of the
 * process, the store's included.
 */
export function tuneGc(opts: { parallelScavenge: boolean }): void {
  v8.setFlagsFromString(opts.parallelScavenge ? '--parallel-scavenge' : '--no-parallel-scavenge');
}
