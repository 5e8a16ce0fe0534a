import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import type { DispatchGate, LagWindow } from './scheduler';

/**
 * A token bucket on dispatches: `rate` checks a second, with at most `burstMs` worth saved up (so a tick
 * releases its share, not a backlog). Infinity = no limit (the fast path: no arithmetic per dispatch).
 */
export class TokenBucket implements DispatchGate {
  private tokens = 0;
  private last = 0;
  private perMs = Infinity;

  constructor(private readonly burstMs: number) {}

  get rate(): number {
    return this.perMs * 1000;
  }

  get bounded(): boolean {
    return this.perMs !== Infinity;
  }

  setRate(perSecond: number): void {
    this.perMs = perSecond / 1000;
  }

  take(now: number): boolean {
    if (this.perMs === Infinity) return true;
    const cap = Math.max(1, this.perMs * this.burstMs);
    this.tokens = Math.min(cap, this.tokens + Math.max(0, now - this.last) * this.perMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  nextAt(now: number): number {
    if (this.perMs === Infinity) return now;
    return now + Math.ceil((1 - this.tokens) / this.perMs);
  }
}

/** What routine checks kept over the last window: the interval set and the one actually achieved. */
export interface IntervalWindow {
  /** Mean time between two routine checks of the same point, ms. */
  effectiveMs: number;
  /** Mean set interval of the same checks, ms. */
  setMs: number;
  /** The longest gap between two routine checks of a point in the window, as a multiple of its interval. */
  maxGapRatio: number;
  checks: number;
}

/**
 * Measures the interval the engine really keeps: each routine dispatch reports the time since the point's
 * previous check and the interval it should have had. Windows of `windowMs`; a window without checks keeps
 * the previous figure (a small registry at long intervals has quiet windows).
 */
export class IntervalMeter {
  private sumGap = 0;
  private sumSet = 0;
  private n = 0;
  private maxRatio = 0;
  private start = -1;
  private lastWindow: IntervalWindow | null = null;

  constructor(private readonly windowMs = 10_000) {}

  record(gapMs: number, setMs: number): void {
    this.sumGap += gapMs;
    this.sumSet += setMs;
    this.n++;
    const r = gapMs / setMs;
    if (r > this.maxRatio) this.maxRatio = r;
  }

  /** Closes the window when it is over; returns the last complete one. */
  roll(now: number): IntervalWindow | null {
    if (this.start < 0) this.start = now;
    if (now - this.start < this.windowMs) return this.lastWindow;
    if (this.n > 0) this.lastWindow = { effectiveMs: this.sumGap / this.n, setMs: this.sumSet / this.n, maxGapRatio: this.maxRatio, checks: this.n };
    this.sumGap = 0;
    this.sumSet = 0;
    this.n = 0;
    this.maxRatio = 0;
    this.start = now;
    return this.lastWindow;
  }

  get last(): IntervalWindow | null {
    return this.lastWindow;
  }
}

export interface AdmissionOptions {
  /** Event-loop delay p99 to stay under, ms; 0 = admission control off (only `maxPerSec` applies). */
  targetDelayMs: number;
  /** A fixed ceiling on dispatches a second (MONITOR_MAX_CHECKS_PER_SEC); undefined = none. */
  maxPerSec?: number;
  /** Dispatch tick, ms: the bucket keeps about two ticks' worth. */
  tickMs: number;
}

/** What the controller saw in its last window. */
export interface AdmissionState {
  /** Event-loop delay p99 of the window, ms (what HTTP, the console and live push wait). */
  delayP99Ms: number;
  /** Event-loop delay p90 of the window, ms: low under a high p99 when the second was responsive but for one pause. */
  delayP90Ms: number;
  /** The longest delay of the window, ms. */
  delayMaxMs: number;
  /** Event-loop utilisation of the window (0–1): the share of the main thread's time spent working. */
  utilization: number;
  /** Dispatches a second allowed now; Infinity = not limited. */
  ratePerSec: number;
  /** Dispatches a second made in the window. */
  achievedPerSec: number;
  /** Whether due checks waited for the rate in the window. */
  limited: boolean;
}

/**
 * Never throttled below this many checks a second: at ~100 µs of CPU each that is 5 % of a core, so a loop
 * that is slow at this rate is slow for other reasons (a starved machine, a GC pause, a big report), and
 * throttling further would only starve small registries' checks.
 */
const MIN_RATE = 500;
const ELD_RESOLUTION_MS = 10;
/**
 * A busy second is hot when its p99 is over this share of the target: the controller's set point sits under the
 * target, because what it cannot steer (GC pauses, the store's answers, one-off stalls) adds to the p99 of a whole
 * run. Aiming at 80 % of a 50 ms target gave a p99 of 46–52 ms over the overload bench's 90 s (BENCHMARKS.md,
 * 2026-12-03 14:12–16:16); at 70 % alone 47–56 ms (the climb still overshot), and with the knee (KNEE_SHARE) 27–32 ms.
 */
const HOT_DELAY_SHARE = 0.7;
/** Above this share of busy time the loop has no slack left for HTTP and live push. */
const HOT_UTILIZATION = 0.95;
const CALM_UTILIZATION = 0.85;
/** Below this share the loop has room: a long delay then comes from outside the engine. */
const BUSY_UTILIZATION = 0.6;
/**
 * A delay this many times the target cannot come from dispatching: its slices (48 checks while the rate is
 * bounded, at most 512 otherwise) hold the loop for milliseconds to a few tens, so a second whose longest pause
 * is this long while its p90 stays under half the target was stopped once by something else (a major GC, a long
 * store answer, a report) and was responsive otherwise.
 */
const PAUSE_FACTOR = 2;
/** Calm, unlimited seconds dispatching at least this many checks teach the controller the engine's usual rate. */
const LEARN_MIN_PER_SEC = 200;
/** Weight of the newest calm second in the learned rate (an average over the last ~10). */
const LEARN_WEIGHT = 0.1;
/** A hot second with dispatches up to this multiple of the usual rate did not get hot from dispatching more. */
const USUAL_RATE_MARGIN = 1.1;
/**
 * At most this many hot seconds within the last ELSEWHERE_WINDOW_S are put down to other work: a burst (a resync,
 * a report) is over by then, and heat that keeps coming back (every other second in an overload) or stays (a slower
 * machine, a neighbour taking the CPU) is the checks' to give way to.
 */
const ELSEWHERE_MAX_S = 5;
const ELSEWHERE_WINDOW_S = 30;
/** The usual rate is learned only after this many calm seconds in a row (not from the calm seconds of a bursty overload). */
const LEARN_AFTER_CALM_S = 10;
/**
 * After a cut, the rate climbs ×1.15 a calm second back to this share of the rate that was cut (the knee), and above
 * it probes ×PROBE_GROWTH a second: climbing ×1.15 past the rate that had made the loop hot overshot it within a
 * second or two, and the hot second that followed (p99 up to 183 ms, ELU 1.0, at 300,000 points) is what put the
 * overload bench's p99 over 50 ms (BENCHMARKS.md, 2026-12-03 14:12–16:16). The knee never holds the rate under the
 * usual one (learned in calm seconds), so a cut for a burst of other work is climbed back at once.
 */
const KNEE_SHARE = 0.9;
const PROBE_GROWTH = 1.03;

/**
 * Admission control: keeps the event loop responsive whatever the load. Once a second it reads the loop's
 * delay (perf_hooks `monitorEventLoopDelay`, p99 of the window) and utilisation (ELU: the main thread's CPU
 * share), and adapts the dispatch rate of the bucket: cut multiplicatively when the delay nears the target
 * while the loop is busy, or the loop is saturated, and the checks are what keeps it busy (not when other work
 * heated it while the engine, unlimited so far, dispatched at its usual rate); raised step by step while checks wait and the loop has
 * slack; lifted entirely after half a minute without either. Confirmations are served first from this rate (scheduler lanes);
 * what is left short stretches routine intervals evenly (`Scheduler.stretchMs`).
 */
export class Admission {
  readonly bucket: TokenBucket;
  private rate = Infinity;
  private calmWindows = 0;
  /** Learned in calm seconds without a limit: what the engine dispatched a second on its own (0 = not yet). */
  private usualRate = 0;
  /** Hot (1) or not (0) for each of the last ELSEWHERE_WINDOW_S seconds, a ring, and how many were hot. */
  private readonly recentHot = new Uint8Array(ELSEWHERE_WINDOW_S);
  private recentAt = 0;
  private recentHotCount = 0;
  private calmInARow = 0;
  /** The rate in force when the loop was last cut for heat (0 = never): what proved too much. */
  private cutFrom = 0;
  private histogram: IntervalHistogram | null = null;
  private elu: EventLoopUtilization | null = null;
  private lastState: AdmissionState = { delayP99Ms: 0, delayP90Ms: 0, delayMaxMs: 0, utilization: 0, ratePerSec: Infinity, achievedPerSec: 0, limited: false };

  constructor(private readonly o: AdmissionOptions) {
    this.bucket = new TokenBucket(Math.max(100, 2 * o.tickMs));
    this.apply();
  }

  start(): void {
    if (this.histogram) return;
    this.histogram = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
    this.histogram.enable();
    this.elu = performance.eventLoopUtilization();
  }

  stop(): void {
    this.histogram?.disable();
    this.histogram = null;
  }

  get state(): AdmissionState {
    return this.lastState;
  }

  /** One control step over the scheduler's last window (called once a second). */
  adjust(window: LagWindow, windowMs = 1000): AdmissionState {
    const h = this.histogram;
    const delayOf = (ns: number): number => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
    const delayP99Ms = h ? delayOf(h.percentile(99)) : 0;
    const delayP90Ms = h ? delayOf(h.percentile(90)) : 0;
    const delayMaxMs = h ? delayOf(h.max) : 0;
    h?.reset();
    let utilization = 0;
    if (this.elu) {
      const now = performance.eventLoopUtilization();
      utilization = performance.eventLoopUtilization(now, this.elu).utilization;
      this.elu = now;
    }
    const achievedPerSec = (window.dispatched * 1000) / windowMs;
    this.step(delayP99Ms, utilization, achievedPerSec, window.limited, { p90Ms: delayP90Ms, maxMs: delayMaxMs });
    this.lastState = { delayP99Ms, delayP90Ms, delayMaxMs, utilization, ratePerSec: this.bucket.rate, achievedPerSec, limited: window.limited };
    return this.lastState;
  }

  /**
   * The control law, separate from the measurements (unit-tested with made-up windows). A cut starts from the
   * rate in force, not from what was achieved: a second the loop spent in a GC pause or a long report achieved
   * next to nothing, and cutting to that collapsed the engine to its floor for half a minute after each one.
   * A stall the dispatches cannot have caused (they used under half their allowance) cuts nothing, and neither
   * does one long pause in an otherwise responsive second (`delay`: the window's p90 and longest delay; without
   * them the p99 stands for the whole second): at a load the engine carries, such a second (a major GC, the
   * first writes of the history pass) cut the unlimited rate to 0.7× what it achieved, and the checks that
   * waited for the rate to climb back ran a second or more late (BENCHMARKS.md, #15 at nominal load).
   */
  step(delayP99Ms: number, utilization: number, achievedPerSec: number, limited: boolean, delay?: { p90Ms: number; maxMs: number }): void {
    const target = this.o.targetDelayMs;
    if (target > 0) {
      // A delay while the loop is mostly idle is not the engine's doing (the machine's other processes took the
      // CPU, a GC pause): dispatching less would not help, only starve the checks. Cut when the loop is busy.
      const hot = utilization > HOT_UTILIZATION || (delayP99Ms > target * HOT_DELAY_SHARE && utilization > BUSY_UTILIZATION);
      const pause = delay !== undefined && delay.maxMs >= target * PAUSE_FACTOR && delay.p90Ms < target * 0.5;
      const stalled = pause || (this.rate < Infinity && achievedPerSec < this.rate * 0.5);
      const calm = delayP99Ms < target * 0.5 && utilization < CALM_UTILIZATION;
      this.calmInARow = calm ? this.calmInARow + 1 : 0;
      if (this.calmInARow >= LEARN_AFTER_CALM_S && !limited && this.rate === Infinity && achievedPerSec >= LEARN_MIN_PER_SEC) this.learn(achievedPerSec);
      // a pause or a stall has its own rule: only the heat that would cut counts against the allowance
      const heat = hot && !stalled ? 1 : 0;
      this.recentHotCount += heat - this.recentHot[this.recentAt];
      this.recentHot[this.recentAt] = heat;
      this.recentAt = (this.recentAt + 1) % ELSEWHERE_WINDOW_S;
      if (hot && !stalled && !this.heatFromElsewhere(achievedPerSec)) {
        const base = this.rate < Infinity ? this.rate : Math.max(achievedPerSec, MIN_RATE);
        this.cutFrom = base;
        this.rate = Math.max(MIN_RATE, base * (delayP99Ms > target * 1.5 ? 0.7 : 0.85));
        this.calmWindows = 0;
      } else if (hot) {
        this.calmWindows = 0;
      } else if (limited) {
        this.calmWindows = 0;
        if (calm) {
          const knee = Math.max(this.cutFrom * KNEE_SHARE, this.usualRate * USUAL_RATE_MARGIN);
          this.rate = this.rate < knee ? Math.min(knee, this.rate * 1.15 + 20) : this.rate * PROBE_GROWTH + 20;
        }
      } else if (++this.calmWindows >= 30) this.rate = Infinity;
    }
    this.apply();
  }

  /** Calm seconds without a limit: an average of what the engine dispatched on its own. */
  private learn(achievedPerSec: number): void {
    this.usualRate = this.usualRate === 0 ? achievedPerSec : this.usualRate + LEARN_WEIGHT * (achievedPerSec - this.usualRate);
  }

  /**
   * A hot second the engine did not heat: it kept up without a limit so far, and it dispatched no more than
   * its usual rate (learned in calm seconds), so what a check costs the loop is what it was when the loop was
   * calm, and other work (the registry's resync, a report, a burst of alerting) made it hot. Cutting the checks
   * would free little of it and leave them late: seen at 150,000 points, where a resync's 4 s cut the rate to
   * 1,074 a second and the routine checks fell 4 s behind while it climbed back, and a single 314 ms stall
   * cut it to 0.7× for a second. Only for ELSEWHERE_MAX_S hot seconds in ELSEWHERE_WINDOW_S, and never once a limit is in force
   * or before calm seconds were seen (an engine overloaded from its start is cut as before).
   */
  private heatFromElsewhere(achievedPerSec: number): boolean {
    return this.rate === Infinity && this.usualRate > 0 && this.recentHotCount <= ELSEWHERE_MAX_S && achievedPerSec <= this.usualRate * USUAL_RATE_MARGIN;
  }

  private apply(): void {
    this.bucket.setRate(Math.min(this.rate, this.o.maxPerSec ?? Infinity));
  }
}
