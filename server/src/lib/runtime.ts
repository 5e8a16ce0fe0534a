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

/**
 * glibc's malloc settings Vigil's processes start with (`npm start`, `npm run db`; package.json sets them, a
 * test checks it does; a service manager must set them too: glibc reads them from the environment at process
 * start, so they cannot be set from inside). A buffer of 128 KiB or more (the driver's wire messages, a
 * worker's import chunks) is then always its own mapping, given back to the system when freed. By default
 * glibc raises that threshold each time such a buffer is freed, so later ones come from its heap and stay
 * there when freed: a million-row import left ~200 MB of freed buffers in the server's RSS (BENCHMARKS.md,
 * 2026-12-04 22:xx).
 */
export const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' } as const;

/** The `MALLOC_ENV` variables a Linux process was started without (glibc reads them; other systems ignore them). */
export function missingMallocEnv(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string[] {
  if (platform !== 'linux') return [];
  return Object.keys(MALLOC_ENV).filter((k) => env[k] === undefined);
}
