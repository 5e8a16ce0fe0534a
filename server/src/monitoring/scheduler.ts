import { DeadlineQueue, type Deadline } from './deadline-queue';

export interface Job extends Deadline {
  readonly id: string;
  /** True while its check runs: a job is either queued or running, never both, so no point is checked twice at once. */
  running: boolean;
  /** Set when the job was removed (possibly while running): it is not queued again. */
  removed: boolean;
}

export interface SchedulerOptions<J extends Job> {
  /** Most checks running at once. */
  concurrency: number;
  /**
   * Runs one check and tells the next due time (epoch ms), or null to stop scheduling the job: either by
   * resolving the returned promise or, when it returns nothing, by calling `done` once (the engine's hot
   * path: no promise per check).
   */
  run(job: J, lagMs: number, done: (next: number | null) => void): Promise<number | null> | undefined;
  now?: () => number;
  onError?(job: J, err: unknown): void;
  /**
   * Dispatch granularity (ms, default 0 = exact). Due jobs are released in batches on tick boundaries
   * instead of one timer wake-up per job: at thousands of checks a second the wake-ups (a timer, an epoll
   * round per socket event) cost more than the checks, and a batch of connects lets the kernel's answers
   * come back in the same epoll round. A job is at most one tick late because of it.
   */
  tickMs?: number;
}

/**
 * Dispatches checks from a deadline queue (a heap on due time) with bounded concurrency. Each job
 * has at most one slot, so a scheduler that falls behind does not pile up: late jobs run once, as soon as
 * a slot frees, and the caller schedules the next run from its own phase (see `nextDue`). The lag of
 * each dispatch (now − dueAt) is reported to the caller and `currentLagMs()` tells how late the oldest
 * waiting job is. node-cron is not used here: it skips runs when the process is busy and never replays them.
 */
export class Scheduler<J extends Job> {
  private readonly queue = new DeadlineQueue<J>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private running = 0;
  private started = false;
  private idle: Array<() => void> = [];

  constructor(private readonly opts: SchedulerOptions<J>) {
    this.now = opts.now ?? Date.now;
  }

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.queue.size;
  }

  /** How late the most overdue waiting job is (0 when none is due). */
  currentLagMs(): number {
    const top = this.queue.peek();
    return top ? Math.max(0, this.now() - top.dueAt) : 0;
  }

  /** Queues (or moves) a job. A running job is not queued: its completion decides the next run. */
  schedule(job: J, dueAt: number): void {
    job.removed = false;
    if (job.running) return;
    this.queue.set(job, dueAt);
    if (this.started) this.arm(dueAt);
  }

  /** Runs a queued job as soon as a slot is free (probe now). Returns false when it is already running. */
  expedite(job: J): boolean {
    if (job.running) return false;
    this.schedule(job, Math.min(this.now(), job.dueAt));
    return true;
  }

  /**
   * Dispatches a job at once, outside the concurrency bound (a manual "check now" is rare and must not
   * wait behind a full queue). Returns false when it is running already: the caller joins that check.
   */
  runNow(job: J): boolean {
    if (job.running) return false;
    this.queue.remove(job);
    job.removed = false;
    this.dispatch(job, 0);
    return true;
  }

  unschedule(job: J): void {
    job.removed = true;
    this.queue.remove(job);
  }

  start(): void {
    this.started = true;
    this.pump();
  }

  /** Stops dispatching and waits for running checks (their probes are bounded by their timeouts). */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  get isRunning(): boolean {
    return this.started;
  }

  private arm(due: number): void {
    const tick = this.opts.tickMs ?? 0;
    const at = tick > 0 ? Math.ceil(due / tick) * tick : due;
    if (at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, Math.max(0, at - this.now()));
  }

  private pump(): void {
    if (!this.started) return;
    const now = this.now();
    for (;;) {
      const top = this.queue.peek();
      if (!top) return;
      if (top.dueAt > now) {
        this.arm(top.dueAt);
        return;
      }
      // Saturated: a completion calls pump again.
      if (this.running >= this.opts.concurrency) return;
      this.queue.pop();
      this.dispatch(top, now - top.dueAt);
    }
  }

  private dispatch(job: J, lagMs: number): void {
    job.running = true;
    this.running += 1;
    const done = (next: number | null): void => {
      job.running = false;
      this.running -= 1;
      if (next !== null && !job.removed) this.queue.set(job, next);
      if (this.running === 0 && this.idle.length) for (const f of this.idle.splice(0)) f();
      if (this.started) {
        if (next !== null && !job.removed) this.arm(next);
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
    pending?.then(done, failed);
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

/** A stable phase in [0, periodMs) for a point, so the checks of many points spread over the interval. */
export function phaseOf(id: string, periodMs: number): number {
  let h = 2_166_136_261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16_777_619);
  return (h >>> 0) % Math.max(1, periodMs);
}
