import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';

/** What a long loop over rows on the main thread asks between rows (see LoopPace). */
export interface Pace {
  /** True once the current slice of work has run its share: then `await pace.yield()`. */
  due(): boolean;
  /** Gives the event loop its turn, longer while it is lagging. */
  yield(): Promise<void>;
}

/** For callers that run alone (tools, tests): never yields. */
export const noPace: Pace = { due: () => false, yield: () => Promise.resolve() };

const RESOLUTION_MS = 10;

/**
 * Back-pressure for bulk work that must run on the main thread (an import's staging and applying: store
 * writes and the change events that polling and live push consume). The work checks `due()` between rows
 * and, every `sliceMs` of running, yields: a `setImmediate` turn lets the sockets (HTTP, probes) and timers
 * (the polling engine's dispatch tick) run. When the loop's delay since the last yield went above
 * `maxDelayMs` (a piece of work that could not be cut, or someone else's), it also rests in pauses of
 * `restMs` until a pause passes with the delay under the target (others' work only: ours is paused),
 * `maxRestMs` at most a turn. So the import slows down rather than delaying what shares the loop, and runs
 * at full speed when nothing else wants it. `stop()` when done (the delay monitor is a timer).
 */
export class LoopPace implements Pace {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private sliceStart = performance.now();
  /** Time spent resting, ms (what the work gave way). */
  restedMs = 0;

  constructor(private readonly o: { sliceMs: number; maxDelayMs: number; restMs: number; maxRestMs: number } = { sliceMs: 15, maxDelayMs: 40, restMs: 20, maxRestMs: 1000 }) {
    this.delay.enable();
  }

  due(): boolean {
    return performance.now() - this.sliceStart >= this.o.sliceMs;
  }

  private lagMs(): number {
    return this.delay.count > 0 ? Math.max(0, this.delay.max / 1e6 - RESOLUTION_MS) : 0;
  }

  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const t0 = performance.now();
    while (this.lagMs() > this.o.maxDelayMs && performance.now() - t0 < this.o.maxRestMs) {
      this.delay.reset();
      await new Promise<void>((resolve) => setTimeout(resolve, this.o.restMs));
    }
    this.restedMs += performance.now() - t0;
    this.delay.reset();
    this.sliceStart = performance.now();
  }

  stop(): void {
    this.delay.disable();
  }
}
