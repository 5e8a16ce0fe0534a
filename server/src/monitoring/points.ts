import net from 'node:net';
import { isConnected, type StoredStatus } from '../cameras/read-model';
import { confirmedStates, type ConfirmedState } from '../contracts/live';
import { interned } from '../lib/intern';
import { probeKinds, type ProbeKind, type ProbeResult, type ProbeTarget } from '../probes/types';
import type { Transition } from './events';
import type { Job } from './scheduler';
import { initialState, type MachineRules, type PointState, type State } from './state-machine';

/** What the engine needs of a registry point (read through cameras/read-model.ts). */
export interface PointConfig {
  id: string;
  regionId: string;
  enabled: boolean;
  /** `host` null: registered but not connected yet (未接入), never probed. */
  endpoint: { host: string | null; rtspPort: number; rtspPath?: string | null; httpPort?: number | null; onvifPort?: number | null };
  probe: { kind: ProbeKind; intervalSec: number; timeoutMs: number; retries: number };
}

export type CheckDone = { result: ProbeResult; kind: ProbeKind; transition: Transition | null };

/**
 * One monitored point. Kept small and mutated in place (300,000 of these live in one heap): rules objects
 * are shared, the machine state is updated in place on the steady path, and the current hour's history slot is
 * a handful of number fields rather than an entry in a map keyed by a string per check.
 */
export interface Point extends Job {
  id: string;
  regionId: string;
  kind: ProbeKind;
  target: ProbeTarget;
  intervalMs: number;
  /**
   * When its last scheduled check was dispatched, or its interval last changed when that came later: the
   * interval meter counts the gap to the next check from here (epoch ms; 0 = no check since the engine loaded it).
   */
  lastRunAt: number;
  rules: MachineRules;
  enabled: boolean;
  /** Has an endpoint host; a point that is not connected stays in the mirror but is never scheduled. */
  connected: boolean;
  deleted: boolean;
  m: PointState;
  /** When its status was last written, in whole seconds since STATUS_EPOCH (a small integer: V8 keeps it unboxed). */
  statusWrittenSec: number;
  acctSince: number;
  /** Callers of checkNow waiting for the running check; null when none. */
  waiters: Array<(o: CheckDone) => void> | null;
  /** The current hour slot of the history (rollups.ts): its bounds (NaN = empty), then its figures. */
  rHour: number;
  rEnd: number;
  /** Seconds per history category (history-store.ts historyFields order), inline: no array per point. */
  rU: number;
  rD: number;
  rM: number;
  rN: number;
  rC: number;
  rX: number;
  /** Seconds PENDING (within the above). */
  rP: number;
  rChecks: number;
  rFailures: number;
  /** Category at local midnight when the slot begins there, else -1. */
  rS: number;
}

/** Origin of `Point.statusWrittenSec` (2025-01-01 UTC): seconds since then fit a small integer for decades. */
export const STATUS_EPOCH = Date.UTC(2025, 0, 1);

/** `Point.statusWrittenSec` of an epoch-ms time. */
export function statusSec(ms: number): number {
  return Math.floor((ms - STATUS_EPOCH) / 1000);
}

/** Whether a status written at `writtenSec` is due for a refresh at `at` (epoch ms). */
export function statusStale(writtenSec: number, at: number, refreshMs: number): boolean {
  return at - (STATUS_EPOCH + writtenSec * 1000) >= refreshMs;
}

/** The engine's one way to build a point, so that every point has the same shape (the hot path stays monomorphic). */
export function makePoint(
  id: string,
  regionId: string,
  kind: ProbeKind,
  target: ProbeTarget,
  intervalMs: number,
  rules: MachineRules,
  enabled: boolean,
  connected: boolean,
  m: PointState,
  statusWrittenSec: number,
  acctSince: number,
): Point {
  return {
    id,
    // times start as -0: equal to 0 ("none") but a heap double, so the field holds doubles from the start; a
    // small-integer 0 replaced by the first timestamp gave the point a new hidden class and deprecated every
    // other point's, and the next walk over all points migrated each (test/unit/rollups-slot.test.ts)
    dueAt: -0,
    qIndex: -1,
    running: false,
    removed: false,
    regionId,
    kind,
    target,
    intervalMs,
    lastRunAt: -0,
    rules,
    enabled,
    connected,
    deleted: false,
    m,
    statusWrittenSec,
    acctSince,
    waiters: null,
    // the empty history slot (emptySlot()), written out: properties spread into a literal are added one by
    // one after it is built and land in a separate property array, ~140 bytes more per point
    rHour: NaN,
    rEnd: NaN,
    rU: 0,
    rD: 0,
    rM: 0,
    rN: 0,
    rC: 0,
    rX: 0,
    rP: 0,
    rChecks: 0,
    rFailures: 0,
    rS: -1,
  };
}

/**
 * The target of a point woken from the dormant table (dormant.ts): a point that is not probed keeps no
 * target; one is built from the registry when it is needed (the mirror's `targetFor`, a settings change).
 */
export const NO_TARGET: ProbeTarget = Object.freeze({ host: '', family: 0, port: 0, timeoutMs: 0 });

/** An empty history slot, for a new point (makePoint writes the same values out in its literal). */
export function emptySlot(): Pick<Point, 'rHour' | 'rEnd' | 'rU' | 'rD' | 'rM' | 'rN' | 'rC' | 'rX' | 'rP' | 'rChecks' | 'rFailures' | 'rS'> {
  return { rHour: NaN, rEnd: NaN, rU: 0, rD: 0, rM: 0, rN: 0, rC: 0, rX: 0, rP: 0, rChecks: 0, rFailures: 0, rS: -1 };
}

/** Whether the point is checked on schedule (enabled and connected). */
export function isProbed(p: Pick<Point, 'enabled' | 'connected'>): boolean {
  return p.enabled && p.connected;
}

export interface PointStatus {
  cameraId: string;
  state: State;
  confirmed: ConfirmedState;
  since: string;
  lastCheckAt: string | null;
  rttMs: number | null;
  flapping: boolean;
  reason: string | null;
  consecutiveFailures: number;
  maintenance: boolean;
  nextCheckAt: string | null;
}

export function viewOf(p: Point): PointStatus {
  return {
    cameraId: p.id,
    state: p.m.state,
    confirmed: p.m.confirmed,
    since: new Date(p.m.since).toISOString(),
    lastCheckAt: p.m.lastCheckAt === null ? null : new Date(p.m.lastCheckAt).toISOString(),
    rttMs: p.m.rttMs,
    flapping: p.m.flapping,
    reason: p.m.reason,
    consecutiveFailures: p.m.failures,
    maintenance: p.m.maintenance,
    nextCheckAt: p.qIndex >= 0 ? new Date(p.dueAt).toISOString() : null,
  };
}

export interface ProbeDefaults {
  PROBE_DEFAULT_KIND: ProbeKind;
  PROBE_DEFAULT_INTERVAL_SEC: number;
  PROBE_DEFAULT_TIMEOUT_MS: number;
  PROBE_DEFAULT_RETRIES: number;
}

/** A point as read (cameras/read-model.ts rows) or as a registry change carries it. */
export interface PointRow {
  regionId?: unknown;
  enabled?: boolean;
  endpoint?: PointConfig['endpoint'] | null;
  probe?: Partial<PointConfig['probe']>;
}

/** The engine's config of a point; null without an endpoint at all. */
export function configOf(id: string, row: PointRow, d: ProbeDefaults): PointConfig | null {
  const e = row.endpoint;
  if (!e) return null;
  return {
    id,
    regionId: String(row.regionId),
    enabled: row.enabled !== false,
    endpoint: isConnected(e) ? e : { ...e, host: null },
    probe: {
      kind: canonicalKind(row.probe?.kind ?? d.PROBE_DEFAULT_KIND),
      intervalSec: row.probe?.intervalSec ?? d.PROBE_DEFAULT_INTERVAL_SEC,
      timeoutMs: row.probe?.timeoutMs ?? d.PROBE_DEFAULT_TIMEOUT_MS,
      retries: row.probe?.retries ?? d.PROBE_DEFAULT_RETRIES,
    },
  };
}

/**
 * The vocabulary's own copy of a probe kind: a kind read from the store is a fresh string per point (~24 B kept
 * per point, and a slower lookup of the per-kind tables on every check).
 */
function canonicalKind(kind: ProbeKind): ProbeKind {
  return probeKinds.find((k) => k === kind) ?? kind;
}

/** Whether a point already runs with these settings (then a registry re-read changes nothing). */
export function sameSettings(p: Point, cfg: PointConfig, intervalMs: number, rules: MachineRules): boolean {
  const t = p.target;
  const e = cfg.endpoint;
  if (p.regionId !== cfg.regionId || p.kind !== cfg.probe.kind || p.enabled !== cfg.enabled || p.intervalMs !== intervalMs || p.rules !== rules) return false;
  if (p.connected !== (e.host !== null) || t.host !== (e.host ?? '') || t.timeoutMs !== Math.min(cfg.probe.timeoutMs, intervalMs)) return false;
  const fresh = targetPort(cfg);
  return t.port === fresh.port && (t.path ?? null) === (fresh.path ?? null);
}

function targetPort(cfg: PointConfig): { port: number; path?: string } {
  const e = cfg.endpoint;
  switch (cfg.probe.kind) {
    case 'tcp':
      return { port: e.rtspPort || 554 };
    case 'rtsp':
      // a district's cameras share a handful of stream paths: one copy each, not one per point read
      return { port: e.rtspPort || 554, path: interned.str(e.rtspPath || '/') };
    case 'onvif':
      return { port: e.onvifPort ?? e.httpPort ?? 80, path: '/onvif/device_service' };
    case 'http':
      return { port: e.httpPort ?? 80, path: '/ISAPI/System/status' };
  }
}

const HTTP_OK: readonly number[] = [200];

/** The probe target of a point (host '' for a point that is not connected: it is never probed). */
export function targetOf(cfg: PointConfig, timeoutMs: number): ProbeTarget {
  const host = cfg.endpoint.host ?? '';
  const t: ProbeTarget = { host, family: net.isIP(host) as 0 | 4 | 6, timeoutMs, ...targetPort(cfg) };
  if (cfg.probe.kind === 'http') t.expectStatus = HTTP_OK;
  return t;
}

/**
 * The machine state of a point after a restart: what the store holds (a healthy point stays UP), moved
 * forward to the newest stored transition when that is ahead of the status (a crash between the two
 * writes of a flush), so the next transition gets a fresh seq and nothing is announced twice.
 * `enabled` and `connected` are the registry's now; the caller reconciles a state that disagrees.
 */
export function restore(stored: StoredStatus | undefined, latest: Transition | undefined, now: number, enabled: boolean, connected = true): PointState {
  const m = initialState(now, enabled, connected);
  if (stored?.state) {
    m.state = stored.state;
    m.confirmed = stored.confirmed ?? (stored.state === 'PENDING' ? 'UNKNOWN' : stored.state);
    m.since = stored.since ? new Date(stored.since).getTime() : now;
    m.lastCheckAt = stored.lastCheckAt ? new Date(stored.lastCheckAt).getTime() : null;
    m.rttMs = stored.rttMs ?? null;
    m.flapping = Boolean(stored.flapping);
    m.reason = stored.reason ?? null;
    m.seq = stored.seq ?? 0;
    m.failures = stored.failures ?? 0;
    m.successes = stored.successes ?? 0;
    m.hist = stored.hist ?? 0;
    m.histLen = stored.histLen ?? 0;
    m.flapFrom = stored.flapFrom ?? null;
    m.maintenance = stored.maintenance ?? stored.state === 'MAINTENANCE';
    m.failingSince = stored.failingSince ? new Date(stored.failingSince).getTime() : null;
  }
  if (latest && latest.seq > m.seq && confirmedStates.includes(latest.to)) {
    m.seq = latest.seq;
    m.confirmed = latest.to;
    m.state = latest.to;
    m.flapping = latest.flapping;
    m.since = latest.at.getTime();
  }
  return m;
}

export function toStoredStatus(m: PointState): StoredStatus {
  return {
    state: m.state,
    since: new Date(m.since),
    lastCheckAt: m.lastCheckAt === null ? null : new Date(m.lastCheckAt),
    rttMs: m.rttMs,
    flapping: m.flapping,
    reason: m.reason,
    confirmed: m.confirmed,
    seq: m.seq,
    failures: m.failures,
    successes: m.successes,
    hist: m.hist,
    histLen: m.histLen,
    flapFrom: m.flapFrom,
    maintenance: m.maintenance,
    failingSince: m.failingSince === null ? null : new Date(m.failingSince),
  };
}
