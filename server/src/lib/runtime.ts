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
 * How far the old generation may grow past what the last full collection kept (`heapGrowthPercent`): V8 picks
 * the factor from its GC and allocation speeds, up to 4× on a machine with this much memory, and during a
 * million-row import it let the heap run to 525 MB over 250 MB kept — the garbage of the apply, never
 * touched again, was half the server's heap and a third of its growth (BENCHMARKS.md, Imports, 2026-12-05).
 * A fixed factor trades that for more frequent full collections, whose marking runs concurrently: at
 * `GC_HEAP_GROWTH_PERCENT=30` one every second or two of an import's apply, rarely at rest (little is promoted).
 * 0 leaves V8's own choice.
 *
 * Both flags are read by V8 whenever it uses them (each scavenge; each new heap limit after a full
 * collection), so setting them after start takes effect for every thread of the process, the store's included.
 */
export function tuneGc(opts: { parallelScavenge: boolean; heapGrowthPercent: number }): void {
  v8.setFlagsFromString(opts.parallelScavenge ? '--parallel-scavenge' : '--no-parallel-scavenge');
  if (opts.heapGrowthPercent > 0) v8.setFlagsFromString(`--heap-growing-percent=${opts.heapGrowthPercent}`);
}
