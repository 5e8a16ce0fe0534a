import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics';
import { confirmedStates } from '../contracts/live';
import { probeKinds, probeOutcomes } from '../probes/types';
import { states } from './state-machine';
import type { MonitoringLoad } from '../contracts/monitoring';
import type { AdmissionState } from './admission';

/** What the monitoring store writes in batches (the `what` label of flush failures, each counted from 0). */
export const flushTargets = ['transitions', 'status', 'history-days', 'history-months'] as const;
export type FlushTarget = (typeof flushTargets)[number];

export interface MonitoringGauges {
  inFlight(): number;
  lagMs(): number;
  pointsByState(): Record<string, number>;
  flapping(): number;
  bufferedTransitions(): number;
  bufferedStatus(): number;
  /** The load figures (absent: the store tests' metrics without an engine; those gauges then read 0). */
  load?(): MonitoringLoad;
  admission?(): AdmissionState;
  longestGapRatio?(): number;
  stretchMs?(): number;
}

/**
 * The process's own metrics (CPU, memory, event loop, GC), collected once per process. prom-client's GC metric
 * is a PerformanceObserver that is never disconnected and holds its registry: collected into each app's
 * registry, it kept every monitoring service made in the process alive through that registry's gauges (whose
 * callbacks read the engine) — the overload bench, restarting the engine, carried every dropped one's points, and
 * each added an event-loop monitor and a GC observer of its own.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'vigil_' });
  }
  return processRegistry;
}

/**
 * Prometheus metrics on a per-app Registry (not prom-client's global one: tests boot several apps in one
 * process), merged with the process's metrics for the scrape. Gauges are computed at scrape time from the
 * engine, so the hot path only counts and observes.
 */
export function createMonitoringMetrics(gauges: MonitoringGauges): {
  registry: Registry;
  probes: HotCounter<'kind' | 'outcome'>;
  probeDuration: HotHistogram;
  dispatchLag: HotHistogram;
  transitions: Counter<'to'>;
  transitionsWritten: Counter;
  transitionsDropped: Counter;
  flushFailures: Counter<'what'>;
} {
  const registry = new Registry();
  // Hot-path metrics (one update per check): typed-array counters, series indexed by label position.
  // Every kind × outcome series exists from the first scrape, so rate() works at once.
  const probes = new HotCounter(registry, 'vigil_probes_total', 'Probes completed, by kind and outcome (rate() = probes/s)', ['kind', 'outcome'], [probeKinds, probeOutcomes]);
  const probeDuration = new HotHistogram(
    registry,
    'vigil_probe_duration_seconds',
    'Time from probe start to the deciding answer or timeout',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    { name: 'kind', values: probeKinds },
  );
  const dispatchLag = new HotHistogram(registry, 'vigil_schedule_lag_seconds', 'How late each check was dispatched after its due time', [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]);
  new Gauge({
    name: 'vigil_schedule_lag_current_seconds',
    help: 'How overdue the oldest waiting check is right now (cycle lag)',
    registers: [registry],
    collect() {
      this.set(gauges.lagMs() / 1000);
    },
  });
  new Gauge({
    name: 'vigil_schedule_interval_effective_seconds',
    help: 'Mean time between two routine checks of a point over the last 10 s window (compare with vigil_schedule_interval_set_seconds)',
    registers: [registry],
    collect() {
      this.set(gauges.load?.().effectiveIntervalSec ?? 0);
    },
  });
  new Gauge({
    name: 'vigil_schedule_interval_set_seconds',
    help: 'Mean set interval of the routine checks of the last 10 s window',
    registers: [registry],
    collect() {
      this.set(gauges.load?.().setIntervalSec ?? 0);
    },
  });
  new Gauge({
    name: 'vigil_schedule_overloaded',
    help: '1 while routine checks run at least 10 % later than set (the console shows a banner)',
    registers: [registry],
    collect() {
      this.set(gauges.load?.().overloaded ? 1 : 0);
    },
  });
  new Gauge({
    name: 'vigil_schedule_stretch_seconds',
    help: 'How much later than set routine checks are scheduled now (the shortfall, spread evenly over all points)',
    registers: [registry],
    collect() {
      this.set((gauges.stretchMs?.() ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'vigil_schedule_gap_max_ratio',
    help: 'Longest gap between two routine checks of one point in the last 10 s window, in multiples of its interval',
    registers: [registry],
    collect() {
      this.set(gauges.longestGapRatio?.() ?? 0);
    },
  });
  new Gauge({
    name: 'vigil_capacity_used_ratio',
    help: 'Checks a second needed to keep every set interval ÷ what the engine can carry now (> 1: intervals stretched)',
    registers: [registry],
    collect() {
      this.set(gauges.load?.().capacityUsed ?? 0);
    },
  });
  new Gauge({
    name: 'vigil_admission_rate_per_second',
    help: 'Checks a second admission control allows now (0 = not limiting)',
    registers: [registry],
    collect() {
      const r = gauges.admission?.().ratePerSec ?? Infinity;
      this.set(Number.isFinite(r) ? r : 0);
    },
  });
  new Gauge({
    name: 'vigil_event_loop_delay_p99_seconds',
    help: 'Event-loop delay p99 over the last second, as admission control sees it (target MONITOR_LOOP_DELAY_TARGET_MS)',
    registers: [registry],
    collect() {
      this.set((gauges.admission?.().delayP99Ms ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'vigil_event_loop_utilization_ratio',
    help: 'Share of the last second the main thread spent working (event-loop utilisation)',
    registers: [registry],
    collect() {
      this.set(gauges.admission?.().utilization ?? 0);
    },
  });
  new Gauge({
    name: 'vigil_probes_in_flight',
    help: 'Checks running now',
    registers: [registry],
    collect() {
      this.set(gauges.inFlight());
    },
  });
  new Gauge({
    name: 'vigil_points',
    help: 'Monitored points per state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const by = gauges.pointsByState();
      for (const s of states) this.labels(s).set(by[s] ?? 0);
    },
  });
  new Gauge({
    name: 'vigil_points_flapping',
    help: 'Points carrying the FLAPPING mark',
    registers: [registry],
    collect() {
      this.set(gauges.flapping());
    },
  });
  new Gauge({
    name: 'vigil_transitions_buffered',
    help: 'Transitions waiting to be written to the store (grows while the store is unreachable)',
    registers: [registry],
    collect() {
      this.set(gauges.bufferedTransitions());
    },
  });
  new Gauge({
    name: 'vigil_status_updates_buffered',
    help: 'Point status updates waiting to be written to the store',
    registers: [registry],
    collect() {
      this.set(gauges.bufferedStatus());
    },
  });
  const transitions = counterByLabel(registry, 'vigil_transitions_total', 'Transitions emitted on the change feed, by the state announced', 'to', confirmedStates);
  const transitionsWritten = new Counter({ name: 'vigil_transitions_written_total', help: 'Transitions acknowledged by the store', registers: [registry] });
  const transitionsDropped = new Counter({
    name: 'vigil_transitions_dropped_total',
    help: 'Transitions dropped because the buffer was full during a store outage (should stay 0)',
    registers: [registry],
  });
  const flushFailures = counterByLabel(registry, 'vigil_store_flush_failures_total', 'Failed batched writes (retried), by what was written', 'what', flushTargets);
  return { registry: Registry.merge([processMetrics(), registry]), probes, probeDuration, dispatchLag, transitions, transitionsWritten, transitionsDropped, flushFailures };
}

export type MonitoringMetrics = ReturnType<typeof createMonitoringMetrics>;

/**
 * A counter with one label whose every known value has a series from the first scrape, at 0: a series that
 * appears only with its first event makes `increase()` / `rate()` miss that event.
 */
function counterByLabel<L extends string>(registry: Registry, name: string, help: string, label: L, values: readonly string[]): Counter<L> {
  const counter = new Counter<L>({ name, help, labelNames: [label], registers: [registry] });
  for (const v of values) counter.labels(v).inc(0);
  return counter;
}
