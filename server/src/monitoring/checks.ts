import { AppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { probeKinds, probeOutcomes, type Probe, type ProbeKind, type ProbeResult, type ProbeTarget } from '../probes/types';
import type { ChangeFeed } from '../lib/change-feed';
import type { Transition } from './events';
import type { MonitoringMetrics } from './metrics';
import type { MonitoringStore } from './persistence';
import { statusSec, statusStale, toStoredStatus, viewOf, type CheckDone, type Point, type PointStatus } from './points';
import type { Rollups } from './rollups';
import { routineNext, Scheduler, type DispatchGate } from './scheduler';
import type { IntervalMeter } from './admission';
import { step, steadyCheck, type MachineEvent, type MachineTransition } from './state-machine';

/**
 * Whether the point's next check confirms a state rather than routinely re-checks it: a PENDING point's
 * retries and a DOWN point that saw a success. These go before routine checks (the urgent lane).
 */
export function confirming(p: Point): boolean {
  return p.m.state === 'PENDING' || (p.m.state === 'DOWN' && p.m.successes > 0);
}

/** Metric series of each probe kind (its position in probeKinds). */
const KIND_INDEX = Object.fromEntries(probeKinds.map((k, i) => [k, i])) as Record<ProbeKind, number>;

export interface CheckOutcome {
  result: ProbeResult;
  kind: ProbeKind;
  status: PointStatus;
  transition: Transition | null;
}

export interface CheckRunnerOptions {
  probes: Readonly<Record<ProbeKind, Probe>>;
  store: MonitoringStore;
  feed: ChangeFeed<Transition>;
  metrics: MonitoringMetrics;
  rollups: Rollups;
  logger: Logger;
  concurrency: number;
  tickMs: number;
  retryIntervalMs: number;
  statusRefreshMs: number;
  /** Admission control (the dispatch rate the event loop can carry); none = unlimited. */
  gate?: DispatchGate;
  /** Where routine checks report the interval actually kept. */
  intervals: IntervalMeter;
  /** A point's scheduled checks ended (disabled, disconnected, removed or stopped while one ran): its object is idle. */
  onRetired?(p: Point): void;
  /** Aborted on stop (the out-of-band probe of checkNow on a disabled point listens on it). */
  signal: AbortSignal;
  stopped(): boolean;
}

/**
 * The probing loop: the deadline-queue scheduler dispatches due points, each is probed, the result goes
 * through the state machine, and what changed goes to the change feed and the store's write buffer. Every
 * state change of a point — a check, or an event from the registry or a maintenance window — goes
 * through `apply`, so accounting, status writes and transitions have one path.
 */
/**
 * Dispatches in one synchronous stretch (~5–10 ms of connects) before the scheduler yields to I/O and timers,
 * while admission control bounds the rate; while it does not, up to DISPATCH_FREE_SLICE (a nominal tick's
 * whole batch, a few hundred; a start's or a resync's burst still yields between pieces).
 */
const DISPATCH_SLICE = 48;
const DISPATCH_FREE_SLICE = 512;

export class CheckRunner {
  readonly scheduler: Scheduler<Point>;
  /** probes_total series per kind (row) and outcome (column), resolved once. */
  private readonly outcomeSlots: Record<ProbeResult['outcome'], number>[];

  constructor(private readonly o: CheckRunnerOptions) {
    this.outcomeSlots = probeKinds.map((_k, ki) => Object.fromEntries(probeOutcomes.map((out, oi) => [out, o.metrics.probes.slot(ki, oi)])) as Record<ProbeResult['outcome'], number>);
    this.scheduler = new Scheduler<Point>({
      concurrency: o.concurrency,
      tickMs: o.tickMs,
      gate: o.gate,
      slice: DISPATCH_SLICE,
      freeSlice: DISPATCH_FREE_SLICE,
      run: (p, lag, done) => this.runScheduled(p, lag, done),
      onError: (p, err) => o.logger.error('check failed unexpectedly', { cameraId: p.id, err }),
    });
  }

  private runScheduled(p: Point, lagMs: number, done: (next: number | null, urgent?: boolean) => void): undefined {
    this.o.metrics.dispatchLag.observe(lagMs / 1000);
    const at = Date.now();
    const first = p.lastRunAt === 0;
    // a routine check (not a confirmation): its distance from the point's previous check is the interval
    // the engine actually keeps
    if (!first && !confirming(p)) this.o.intervals.record(at - p.lastRunAt, p.intervalMs);
    p.lastRunAt = at;
    this.startCheck(p, () => {
      if (!p.enabled || !p.connected || p.deleted || this.o.stopped()) {
        done(null);
        this.o.onRetired?.(p);
        return;
      }
      const now = Date.now();
      // confirmations go to the urgent lane, one retry interval after this check
      if (confirming(p)) done(Math.max(now + 1, at + Math.min(this.o.retryIntervalMs, p.intervalMs)), true);
      else done(routineNext(p.id, p.dueAt, p.intervalMs, this.scheduler.stretchMs, lagMs, now, first));
    });
    return undefined;
  }

  /**
   * Probes a point once and applies the result; `after` runs when the state is updated, then every
   * checkNow caller that joined this check is answered. Callback style on purpose: this runs thousands
   * of times a second, and each promise costs allocations and microtask hops.
   */
  private startCheck(p: Point, after: () => void): void {
    const kind = p.kind;
    const kindIdx = KIND_INDEX[kind];
    const t0 = performance.now();
    // No abort signal on the hot path (≈8 µs per probe for the listener): stop() waits for running
    // checks instead, each bounded by its timeout.
    const onResult = (result: ProbeResult): void => {
      this.o.metrics.probes.inc(this.outcomeSlots[kindIdx][result.outcome]);
      this.o.metrics.probeDuration.observe((performance.now() - t0) / 1000, kindIdx);
      const transition = p.deleted || this.o.stopped() ? null : this.onCheck(p, result);
      after();
      const waiters = p.waiters;
      if (waiters) {
        p.waiters = null;
        const out: CheckDone = { result, kind, transition };
        for (const w of waiters) w(out);
      }
    };
    const probe = this.o.probes[kind];
    if (probe.run) probe.run(p.target, onResult);
    else probe.check(p.target).then(onResult, (err: unknown) => onResult({ outcome: 'protocol_error', up: false, rttMs: performance.now() - t0, detail: String(err) }));
  }

  private onCheck(p: Point, result: ProbeResult): Transition | null {
    const at = Date.now();
    const reason = result.outcome === 'ok' ? 'ok' : result.detail ? `${result.outcome}: ${result.detail}` : result.outcome;
    const rttMs = result.up ? result.rttMs : null;
    if (steadyCheck(p.m, at, result.up, rttMs, reason, p.rules)) {
      // nothing changed but the counters: the status document is only refreshed now and then
      this.o.rollups.account(p, at, result.up ? 1 : 2);
      if (statusStale(p.statusWrittenSec, at, this.o.statusRefreshMs)) {
        this.o.store.setStatus(p.id, toStoredStatus(p.m));
        p.statusWrittenSec = statusSec(at);
      }
      return null;
    }
    return this.apply(p, { kind: 'check', at, up: result.up, rttMs, reason });
  }

  /** Probe now (POST /cameras/:id/check). Joins a check already running instead of starting a second one. */
  async checkNow(p: Point, targetOf: (p: Point) => Promise<{ kind: ProbeKind; target: ProbeTarget }>): Promise<CheckOutcome> {
    if (!p.connected) throw new AppError('conflict', 'the point is not connected yet (no endpoint host): nothing to probe');
    if (!p.enabled) {
      // not probed: the point may keep no target (mirror.ts); out of band, nothing is applied
      const { kind, target } = await targetOf(p);
      const result = await this.o.probes[kind].check(target, this.o.signal);
      return { result, kind, status: viewOf(p), transition: null };
    }
    const joined = new Promise<CheckDone>((resolve) => (p.waiters ??= []).push(resolve));
    if (!p.running && !this.scheduler.runNow(p)) {
      p.waiters = null;
      throw new AppError('unavailable', 'check could not be started');
    }
    const out = await joined;
    return { ...out, status: viewOf(p) };
  }

  /** Applies one event to the point's machine: time accounting, status write, transition. */
  apply(p: Point, ev: MachineEvent): Transition | null {
    const before = p.m;
    this.o.rollups.account(p, ev.at, ev.kind === 'check' ? (ev.up ? 1 : 2) : 0);
    const r = step(before, ev, p.rules);
    if (r.point === before) return null;
    p.m = r.point;
    let transition: Transition | null = null;
    if (r.transition) transition = this.emit(p, r.transition);
    const m = r.point;
    if (
      m.state !== before.state ||
      m.seq !== before.seq ||
      m.flapping !== before.flapping ||
      m.maintenance !== before.maintenance ||
      statusStale(p.statusWrittenSec, ev.at, this.o.statusRefreshMs)
    ) {
      this.o.store.setStatus(p.id, toStoredStatus(m));
      p.statusWrittenSec = statusSec(ev.at);
    }
    return transition;
  }

  private emit(p: Point, mt: MachineTransition): Transition {
    const t: Transition = {
      id: `${p.id}:${mt.seq}`,
      cameraId: p.id,
      regionId: p.regionId,
      seq: mt.seq,
      from: mt.from,
      to: mt.to,
      at: new Date(mt.at),
      reason: mt.reason,
      rttMs: mt.rttMs,
      flapping: mt.flapping,
      failingSince: mt.failingSince === null ? null : new Date(mt.failingSince),
    };
    this.o.metrics.transitions.labels(t.to).inc();
    this.o.store.addTransition(t);
    this.o.feed.emit(t);
    return t;
  }
}
