import { DeadlineQueue, type Deadline } from './deadline-queue';

export interface Job extends Deadline {
  readonly id: string;
  /** True while its check runs: a job is either queued or running, never both, so no point is checked twice at once. */
  running: boolean;
  /** Set when the job was removed (possibly while running): it is not queued again. */
  removed: boolean;
}

/**
 * How many dispatches the scheduler may make now (admission control, see admission.ts). `take` is asked
 * once per dispatch; when it refuses, `nextAt` tells when to ask again. Absent = no limit.
 */
export interface DispatchGate {
  take(now: number): boolean;
  nextAt(now: number): number;
  /** Whether the gate limits the rate now (absent = always): while it does not, dispatch goes in `freeSlice`s. */
  readonly bounded?: boolean;
}

/** Timer functions (injectable so tests can drive the scheduler on a fake clock). */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface SchedulerOptions<J extends Job> {
  /** Most checks running at once. */
  concurrency: number;
  /**
   * Runs one check and tells the next due time (epoch ms), or null to stop scheduling the job: either by
   * resolving the returned promise or, when it returns nothing, by calling `done` once (the engine's hot
   * path: no promise per check). `urgent` puts the next run in the confirmation lane.
   */
  run(job: J, lagMs: number, done: (next: number | null, urgent?: boolean) => void): Promise<number | null> | undefined;
  now?: () => number;
  timers?: Timers;
  onError?(job: J, err: unknown): void;
  /**
   * Dispatch granularity (ms, default 0 = exact). Due jobs are released in batches on tick boundaries
   * instead of one timer wake-up per job: at thousands of checks a second the wake-ups (a timer, an epoll
   * round per socket event) cost more than the checks, and a batch of connects lets the kernel's answers
   * come back in the same epoll round. A tick releases the jobs due up to half a tick after it, so a job leaves
   * within half a tick of its due time, early or late: released only once due, a job waited for the next tick
   * whenever it came due after the last completion of the previous tick's batch, and the faster the engine
   * answered its batch, the later its checks ran (BENCHMARKS.md, #15 at nominal load, 2026-12-04 16:33).
   */
  tickMs?: number;
  /** Admission control: limits the dispatch rate (confirmations are served first from what it allows). */
  gate?: DispatchGate;
  /**
   * Most dispatches in one go while the gate bounds the rate (default: no limit). A tick's batch of thousands of connects is one long
   * synchronous stretch that HTTP, live push and the timers wait behind; past this many the scheduler yields
   * (setImmediate) and goes on, so the batch still leaves within the same tick.
   */
  slice?: number;
  /**
   * Most dispatches in one go while the gate does not bound the rate, or there is no gate (default: `slice`).
   * At a load the engine carries, a tick's batch is a few hundred checks at most; yielding inside it only
   * let the batch's first answers run ahead of its last connects, and routine checks left later than
   * with the batch in one piece (BENCHMARKS.md, #15 at nominal load). Slices of `slice` are for when the
   * loop is the bottleneck, which is when admission control bounds the rate.
   */
  freeSlice?: number;
  /** Least smoothed lag, while the gate binds, before routine intervals stretch (default 1,000 ms). */
  stretchFloorMs?: number;
}

/** Lag statistics of routine dispatches over the last completed window (see `routineLag`). */
export interface LagWindow {
  /** Mean lag of routine dispatches in the window, ms. */
  meanMs: number;
  dispatched: number;
  urgentDispatched: number;
  /** Whether the gate refused a dispatch while jobs were due (the engine ran short of capacity). */
  limited: boolean;
}

const LAG_WINDOW_MS = 1000;

/**
 * Dispatches checks from two deadline queues (heaps on due time) with bounded concurrency:
 *
 * - the **confirmation lane** (urgent): re-checks that decide a state (a PENDING point's retries, a DOWN
 *   point that saw a success) and expedited checks. A due job here always goes before any due routine job,
 *   however much earlier the routine one came due, so an outage is confirmed within its retry window even
 *   when the engine cannot keep every routine slot;
 * - the **routine lane**: the periodic checks, served oldest-due first.
 *
 * Each job has at most one slot, so a scheduler that falls behind does not pile up: late jobs run once, as
 * soon as a slot frees. The admission gate (when given) bounds how many dispatches a second are made; when
 * it binds, routine jobs wait in due order, so every point waits about the same time, and `stretchMs`
 * tells the caller how much to lengthen routine intervals to match (evenly over all points, never the
 * confirmations). node-cron is not used here: it skips runs when the process is busy and never replays them.
 */
export class Scheduler<J extends Job> {
  private readonly routine = new DeadlineQueue<J>();
  private readonly urgent = new DeadlineQueue<J>();
  private readonly now: () => number;
  private readonly timers: Timers;
  private timer: unknown;
  private timerAt = Infinity;
  private running = 0;
  private started = false;
  private idle: Array<() => void> = [];
  private winStart = 0;
  private winLagSum = 0;
  private winRoutine = 0;
  private winUrgent = 0;
  private winLimited = false;
  private lastWindow: LagWindow = { meanMs: 0, dispatched: 0, urgentDispatched: 0, limited: false };
  private smoothedLagMs = 0;
  private limitedUntil = -Infinity;
  private resumePending = false;
  /** How early a job may leave: half a tick (0 without ticks, exact dispatch). */
  private readonly earlyMs: number;

  constructor(private readonly opts: SchedulerOptions<J>) {
    this.now = opts.now ?? Date.now;
    this.timers = opts.timers ?? realTimers;
    this.earlyMs = Math.floor((opts.tickMs ?? 0) / 2);
  }

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.routine.size + this.urgent.size;
  }

  /** How late the most overdue waiting job is (0 when none is due). */
  currentLagMs(): number {
    const now = this.now();
    const r = this.routine.peek();
    const u = this.urgent.peek();
    return Math.max(0, r ? now - r.dueAt : 0, u ? now - u.dueAt : 0);
  }

  /** The last completed second of dispatches (routine lag, counts, whether the gate bound). */
  get window(): LagWindow {
    this.roll(this.now());
    return this.lastWindow;
  }

  /**
   * How much later than its set interval a routine job should come due again: the routine lag, smoothed over
   * a few seconds, once capacity runs short — the gate refused dispatches in the last 10 s and the lag is over
   * 1 s, or the lag stays over 2 s without it (a short lag from a busy moment is caught up on the jobs' own phases instead, losing
   * no check). In a steady overload each point then waits about this long in the queue and its interval
   * grows by the same amount: the shortfall is spread evenly over all points instead of some skipping slots.
   * Based on the job's due time (not its dispatch time), so points keep their spread phases when the load goes.
   */
  get stretchMs(): number {
    const now = this.now();
    this.roll(now);
    const tick2 = 2 * (this.opts.tickMs ?? 0);
    // A second of lag after a stall (a GC pause, the hourly history pass) is caught up on the points' own
    // phases: stretching every interval for it would make the engine look overloaded for a whole cycle.
    const floor = now < this.limitedUntil ? Math.max(this.opts.stretchFloorMs ?? 1000, tick2) : Math.max(2000, tick2);
    return this.smoothedLagMs > floor ? Math.round(this.smoothedLagMs) : 0;
  }

  /** Queues (or moves) a job. A running job is not queued: its completion decides the next run. */
  schedule(job: J, dueAt: number, urgent = false): void {
    job.removed = false;
    if (job.running) return;
    const into = urgent ? this.urgent : this.routine;
    (urgent ? this.routine : this.urgent).remove(job);
    into.set(job, dueAt);
    if (this.started) this.arm(dueAt);
  }

  /** Runs a queued job as soon as a slot is free, before routine checks (probe now). False when it is running. */
  expedite(job: J): boolean {
    if (job.running) return false;
    this.schedule(job, Math.min(this.now(), job.dueAt), true);
    return true;
  }

  /**
   * Dispatches a job at once, outside the concurrency bound and the gate (a manual "check now" is rare and
   * must not wait behind a full queue). Returns false when it is running already: the caller joins that check.
   */
  runNow(job: J): boolean {
    if (job.running) return false;
    this.routine.remove(job);
    this.urgent.remove(job);
    job.removed = false;
    this.dispatch(job, 0);
    return true;
  }

  unschedule(job: J): void {
    job.removed = true;
    this.routine.remove(job);
    this.urgent.remove(job);
  }

  /** Whether the job waits in the confirmation lane. */
  isUrgent(job: J): boolean {
    return this.urgent.has(job);
  }

  start(): void {
    this.started = true;
    this.winStart = this.now();
    this.pump();
  }

  /** Stops dispatching and waits for running checks (their probes are bounded by their timeouts). */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  get isRunning(): boolean {
    return this.started;
  }

  /** Wakes the scheduler on the first tick that releases a job due at `due` (up to half a tick early). */
  private arm(due: number): void {
    this.wakeAt(due - this.earlyMs);
  }

  /** Wakes the scheduler on the first tick at or after `t`. */
  private wakeAt(t: number): void {
    const tick = this.opts.tickMs ?? 0;
    const at = tick > 0 ? Math.ceil(t / tick) * tick : t;
    if (at >= this.timerAt) return;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timerAt = at;
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, Math.max(0, at - this.now()));
  }

  private roll(now: number): void {
    if (now - this.winStart < LAG_WINDOW_MS) return;
    const meanMs = this.winRoutine ? this.winLagSum / this.winRoutine : 0;
    this.lastWindow = { meanMs, dispatched: this.winRoutine + this.winUrgent, urgentDispatched: this.winUrgent, limited: this.winLimited };
    // a window without routine dispatches while limited says nothing about the lag: keep the estimate
    if (this.winRoutine > 0 || !this.winLimited) this.smoothedLagMs += (meanMs - this.smoothedLagMs) * 0.3;
    // windows skipped while idle count as lag-free ones
    const skipped = Math.floor((now - this.winStart) / LAG_WINDOW_MS) - 1;
    if (skipped > 0) this.smoothedLagMs *= 0.7 ** Math.min(skipped, 50);
    this.winStart = now;
    this.winLagSum = 0;
    this.winRoutine = 0;
    this.winUrgent = 0;
    this.winLimited = false;
  }

  private pump(): void {
    if (!this.started) return;
    const now = this.now();
    this.roll(now);
    const gate = this.opts.gate;
    const bounded = gate !== undefined && gate.bounded !== false;
    const slice = (bounded ? this.opts.slice : (this.opts.freeSlice ?? this.opts.slice)) ?? Infinity;
    const until = now + this.earlyMs;
    for (let n = 0; ; n++) {
      if (n >= slice) {
        this.resumeSoon();
        return;
      }
      const u = this.urgent.peek();
      const r = this.routine.peek();
      // confirmations first: a due urgent job goes before any due routine job
      const lane = u && u.dueAt <= until ? this.urgent : r && r.dueAt <= until ? this.routine : null;
      if (!lane) {
        const next = Math.min(u ? u.dueAt : Infinity, r ? r.dueAt : Infinity);
        if (next < Infinity) this.arm(next);
        return;
      }
      // Saturated: a completion calls pump again.
      if (this.running >= this.opts.concurrency) return;
      if (gate && !gate.take(now)) {
        this.winLimited = true;
        this.limitedUntil = now + 10_000;
        // a wake-up when the gate allows the next dispatch, not a due time: no early release off it
        this.wakeAt(Math.max(now + 1, gate.nextAt(now)));
        return;
      }
      const job = lane.pop() as J;
      // not late when it leaves early (the lag reported, averaged and stretched on is lateness)
      const lag = Math.max(0, now - job.dueAt);
      if (lane === this.urgent) this.winUrgent++;
      else {
        this.winRoutine++;
        this.winLagSum += lag;
      }
      this.dispatch(job, lag);
    }
  }

  /** Goes on dispatching after what waits behind this slice (I/O callbacks, timers) has run. */
  private resumeSoon(): void {
    if (this.resumePending) return;
    this.resumePending = true;
    setImmediate(() => {
      this.resumePending = false;
      this.pump();
    });
  }

  private dispatch(job: J, lagMs: number): void {
    job.running = true;
    this.running += 1;
    const done = (next: number | null, urgent = false): void => {
      job.running = false;
      this.running -= 1;
      const requeue = next !== null && !job.removed;
      if (requeue) (urgent ? this.urgent : this.routine).set(job, next);
      if (this.running === 0 && this.idle.length) for (const f of this.idle.splice(0)) f();
      if (this.started) {
        if (requeue) this.arm(next);
        this.pump();
      }
    };
    const failed = (err: unknown): void => {
      this.opts.onError?.(job, err);
      done(this.now() + 60_000);
    };
    let pending: Promise<number | null> | undefined;
    try {
      pending = this.opts.run(job, lagMs, done);
    } catch (err) {
      failed(err);
      return;
    }
    pending?.then((next) => done(next), failed);
  }
}

/**
 * The next due time after `dueAt` on a job's own phase, never in the past: missed slots are skipped,
 * not replayed, so a scheduler that fell behind catches up instead of bursting.
 */
export function nextDue(dueAt: number, periodMs: number, now: number): number {
  const next = dueAt + periodMs;
  if (next > now) return next;
  return next + Math.ceil((now - next + 1) / periodMs) * periodMs;
}

/**
 * The due time of a point's next routine check after the check due at `dueAt` and dispatched `lagMs` after
 * it: one interval (plus the scheduler's current stretch) later on the job's own phase, missed slots
 * skipped. The stretch is at most the check's own lag, so the next check is never due more than one interval
 * after this one ran: the stretch is a smoothed average, and a check that ran earlier than the average (the
 * lag falling after a burst) was otherwise given the average on top of its interval, and then waited the
 * queue's lag again — gaps of 2.5× at 1.7× overload (BENCHMARKS.md, #15). After a point's first check
 * (`first`), the next one goes to the point's own slot on the interval grid (`phaseOf` its id, at least half
 * an interval away): points added in bulk share their first-check second (an import, the demo load) but not
 * their later checks, which spread over the interval like points read at start-up.
 */
export function routineNext(id: string, dueAt: number, intervalMs: number, stretchMs: number, lagMs: number, now: number, first: boolean): number {
  if (first) return gridSlot(id, intervalMs, now + intervalMs / 2);
  return nextDue(dueAt, intervalMs + Math.max(0, Math.min(stretchMs, lagMs)), now);
}

/** The point's first slot on its interval grid at or after `from` (the grid: `phaseOf` its id, counted from the epoch). */
export function gridSlot(id: string, intervalMs: number, from: number): number {
  const phase = phaseOf(id, intervalMs);
  return from + ((((phase - from) % intervalMs) + intervalMs) % intervalMs);
}

/**
 * When a point restored at start-up (or whose interval changed) is first checked: its own slot on the grid, so
 * that `routineNext` keeps it one interval apart from then on. A phase counted from the start instead put the
 * second check 30–90 s after the first (moved onto the grid), and for 1.5 intervals after every restart the
 * engine ran up to 1.5× its load (3,222 checks/s where 2,500 were due, at 150,000 points).
 */
export function restoredDue(id: string, intervalMs: number, now: number): number {
  return gridSlot(id, intervalMs, now);
}

/**
 * Spreads the first checks of points added while the engine runs (created, imported, re-enabled): a point
 * added by hand is checked at once, and a burst (a 100,000-row import, the demo load) is admitted at most
 * `perSecond` first checks a second instead of all in the same second; `routineNext` then moves each point
 * to its own slot of the interval.
 */
export class Intake {
  private cursor = -Infinity;

  constructor(private readonly perSecond = 1000) {}

  firstDue(now: number): number {
    const at = Math.max(now, this.cursor);
    this.cursor = at + 1000 / this.perSecond;
    return Math.floor(at);
  }
}

/** A stable phase in [0, periodMs) for a point, so the checks of many points spread over the interval. */
export function phaseOf(id: string, periodMs: number): number {
  let h = 2_166_136_261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16_777_619);
  return (h >>> 0) % Math.max(1, periodMs);
}
