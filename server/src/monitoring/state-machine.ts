import { cameraStates, type CameraState, type ConfirmedState } from '../contracts/live';

/**
 * The availability state machine of one camera point: a pure function
 * `step(point, event, rules) → { point, transition? }`. Time comes in with each event (`at`, epoch ms),
 * so the clock is whatever the caller injects. Nothing else decides whether a camera is up.
 *
 * Two layers:
 * - `state` is what the point shows now (UNKNOWN, UP, PENDING, DOWN, MAINTENANCE, DISABLED, NOT_CONNECTED);
 * - `confirmed` is the last state announced as a transition (never PENDING). A transition is emitted
 *   only when `confirmed` changes or the FLAPPING mark changes — the "important beat" idea of Uptime
 *   Kuma (`isImportantBeat`): UP→PENDING→UP is no event, PENDING→DOWN is the event (from UP).
 *
 * N = max(1, retries) consecutive failures confirm DOWN; M consecutive successes confirm UP.
 *
 * | state now          | event                     | next state / confirmed                | transition emitted            |
 * |--------------------|---------------------------|---------------------------------------|-------------------------------|
 * | UNKNOWN            | success (×M)              | UP                                    | UNKNOWN → UP                  |
 * | UNKNOWN            | failure, < N in a row     | PENDING (confirmed stays UNKNOWN)     | none                          |
 * | UNKNOWN / PENDING  | failure, N-th in a row    | DOWN                                  | UNKNOWN|UP → DOWN             |
 * | UP                 | success                   | UP                                    | none                          |
 * | UP                 | failure, < N in a row     | PENDING                               | none                          |
 * | PENDING            | success (×M)              | back to confirmed (UP), or UP         | none if confirmed was UP      |
 * | DOWN               | failure                   | DOWN                                  | none                          |
 * | DOWN               | success, < M in a row     | DOWN                                  | none                          |
 * | DOWN               | success, M-th in a row    | UP                                    | DOWN → UP                     |
 * | any checked state  | maintenance on            | MAINTENANCE                           | X → MAINTENANCE               |
 * | MAINTENANCE        | check (any)               | MAINTENANCE (counters/history kept)   | none                          |
 * | MAINTENANCE        | maintenance off           | UP if last M ok, DOWN if last N failed, else PENDING | MAINTENANCE → UP|DOWN, or MAINTENANCE → UNKNOWN when undecided |
 * | any                | disabled                  | DISABLED (counters reset)             | X → DISABLED                  |
 * | DISABLED           | enabled                   | UNKNOWN (MAINTENANCE if in a window), or NOT_CONNECTED if no host | DISABLED → UNKNOWN|MAINTENANCE|NOT_CONNECTED |
 * | DISABLED           | check                     | ignored (a late result)               | none                          |
 * | any but DISABLED   | not connected (no host)   | NOT_CONNECTED (counters reset)        | X → NOT_CONNECTED             |
 * | NOT_CONNECTED      | connected (host given)    | UNKNOWN (MAINTENANCE if in a window)  | NOT_CONNECTED → UNKNOWN|MAINTENANCE |
 * | NOT_CONNECTED      | check                     | ignored (a late result)               | none                          |
 * | DISABLED, NOT_CONN.| maintenance on/off        | unchanged (the mark is kept)          | none                          |
 * | DISABLED           | connected on/off          | DISABLED (remembered for `enabled`)   | none                          |
 * | any checked state  | flap % ≥ high (was below) | unchanged, flapping = true            | X → X, flapping: true         |
 * | flapping           | flap % < low              | unchanged, flapping = false           | from state at flap start → now, flapping: false (one record) |
 *
 * While FLAPPING, changes of `confirmed` are applied to the point but not announced: a flapping camera
 * yields one episode (start, end), not a stream of DOWN/UP. The end record carries the net change.
 *
 * Flap detection follows Nagios: the last 21 check results give 20 possible changes; the k-th oldest
 * change (k = 0..19) weighs 0.75 + 0.5·k/19 (recent changes count more, as in Nagios' flapping.c);
 * percent = Σ weights / 20 · 100, so 20 changes in 21 checks is 100 %.
 */

/** The one state vocabulary (contracts/live.ts), under the machine's names. */
export const states = cameraStates;
export type State = CameraState;

export interface MachineRules {
  /** Consecutive failures that confirm DOWN (the point's probe.retries; at least 1). */
  failuresToDown: number;
  /** Consecutive successes that confirm UP. */
  successesToUp: number;
  /** Percent state change at or above which a point starts flapping. */
  flapHigh: number;
  /** Percent below which a flapping point stops flapping. */
  flapLow: number;
}

/** Flap thresholds are Nagios' sample nagios.cfg values (high 20 %, low 5 %). */
export const defaultRules: MachineRules = { failuresToDown: 3, successesToUp: 1, flapHigh: 20, flapLow: 5 };

export interface PointState {
  state: State;
  confirmed: ConfirmedState;
  /** When `state` last changed (epoch ms). */
  since: number;
  failures: number;
  successes: number;
  /** Last ≤ 21 check results, newest in bit 0 (1 = up). */
  hist: number;
  histLen: number;
  flapping: boolean;
  /** `confirmed` when the current flapping episode began (its end record reports the net change). */
  flapFrom: ConfirmedState | null;
  maintenance: boolean;
  /** Transitions emitted so far: transition ids are (point, seq), so a replay cannot duplicate one. */
  seq: number;
  lastCheckAt: number | null;
  rttMs: number | null;
  reason: string | null;
  /** First failure of the current failing run (epoch ms), for the DOWN record. */
  failingSince: number | null;
  /** The point has an endpoint host (can be probed); false = NOT_CONNECTED unless DISABLED wins. */
  connected: boolean;
}

export type MachineEvent =
  | { kind: 'check'; at: number; up: boolean; rttMs: number | null; reason: string | null }
  | { kind: 'maintenance'; at: number; on: boolean }
  | { kind: 'enabled'; at: number; on: boolean }
  | { kind: 'connected'; at: number; on: boolean };

export interface MachineTransition {
  seq: number;
  from: ConfirmedState;
  to: ConfirmedState;
  at: number;
  reason: string | null;
  rttMs: number | null;
  flapping: boolean;
  /** For DOWN: when the failing run began (the outage start as far as we know). */
  failingSince: number | null;
}

export function initialState(at: number, enabled = true, connected = true): PointState {
  const state = !enabled ? 'DISABLED' : connected ? 'UNKNOWN' : 'NOT_CONNECTED';
  return {
    state,
    confirmed: state,
    since: at,
    failures: 0,
    successes: 0,
    hist: 0,
    histLen: 0,
    flapping: false,
    flapFrom: null,
    maintenance: false,
    seq: 0,
    lastCheckAt: null,
    rttMs: null,
    reason: null,
    failingSince: null,
    connected,
  };
}

const HIST = 21;
const HIST_MASK = (1 << HIST) - 1;

/** Nagios-style weighted percent state change over the last 21 results (0..100). */
export function flapPercent(hist: number, histLen: number): number {
  const n = Math.min(histLen, HIST);
  let sum = 0;
  // bit i is the i-th newest result; change between i and i+1 is the (19 - i)-th oldest of 20 slots
  for (let i = 0; i < n - 1; i++) {
    if (((hist >> i) & 1) !== ((hist >> (i + 1)) & 1)) sum += 0.75 + (0.5 * (19 - i)) / 19;
  }
  return (sum / 20) * 100;
}

type Result = { point: PointState; transition?: MachineTransition };

export function step(prev: PointState, ev: MachineEvent, rules: MachineRules = defaultRules): Result {
  const p: PointState = { ...prev };
  const N = Math.max(1, rules.failuresToDown);
  const M = Math.max(1, rules.successesToUp);
  const setState = (s: State): void => {
    if (p.state !== s) {
      p.state = s;
      p.since = ev.at;
    }
  };
  const announce = (to: ConfirmedState, reason: string | null, flapChange = false): MachineTransition | undefined => {
    const from = p.confirmed;
    p.confirmed = to;
    if (!flapChange && (from === to || p.flapping)) return undefined;
    p.seq += 1;
    return {
      seq: p.seq,
      from,
      to,
      at: ev.at,
      reason,
      rttMs: p.rttMs,
      flapping: p.flapping,
      failingSince: to === 'DOWN' ? p.failingSince : null,
    };
  };

  switch (ev.kind) {
    case 'enabled': {
      if (!ev.on) {
        if (p.state === 'DISABLED') return { point: prev };
        const wasFlapping = p.flapping;
        Object.assign(p, { failures: 0, successes: 0, hist: 0, histLen: 0, flapping: false, flapFrom: null, failingSince: null, maintenance: false });
        setState('DISABLED');
        const t = announce('DISABLED', 'disabled', wasFlapping);
        return { point: p, transition: t };
      }
      if (p.state !== 'DISABLED') return { point: prev };
      const to = !p.connected ? 'NOT_CONNECTED' : p.maintenance ? 'MAINTENANCE' : 'UNKNOWN';
      setState(to);
      return { point: p, transition: announce(to, 'enabled') };
    }
    case 'connected': {
      if (p.state === 'DISABLED') return { point: p.connected === ev.on ? prev : { ...p, connected: ev.on } };
      p.connected = ev.on;
      if (!ev.on) {
        if (p.state === 'NOT_CONNECTED') return { point: prev };
        const wasFlapping = p.flapping;
        Object.assign(p, { failures: 0, successes: 0, hist: 0, histLen: 0, flapping: false, flapFrom: null, failingSince: null });
        setState('NOT_CONNECTED');
        return { point: p, transition: announce('NOT_CONNECTED', 'not connected', wasFlapping) };
      }
      if (p.state !== 'NOT_CONNECTED') return { point: prev.connected ? prev : p };
      const to = p.maintenance ? 'MAINTENANCE' : 'UNKNOWN';
      setState(to);
      return { point: p, transition: announce(to, 'connected') };
    }
    case 'maintenance': {
      if (p.state === 'DISABLED' || p.state === 'NOT_CONNECTED' || p.maintenance === ev.on) {
        return { point: p.maintenance === ev.on ? prev : { ...p, maintenance: ev.on } };
      }
      p.maintenance = ev.on;
      if (ev.on) {
        setState('MAINTENANCE');
        return { point: p, transition: announce('MAINTENANCE', 'maintenance started') };
      }
      let to: ConfirmedState = 'UNKNOWN';
      if (p.histLen > 0 && p.successes >= M) to = 'UP';
      else if (p.histLen > 0 && p.failures >= N) to = 'DOWN';
      setState(to === 'UNKNOWN' && p.histLen > 0 ? 'PENDING' : to);
      return { point: p, transition: announce(to, 'maintenance ended') };
    }
    case 'check': {
      if (p.state === 'DISABLED' || p.state === 'NOT_CONNECTED') return { point: prev };
      p.lastCheckAt = ev.at;
      p.rttMs = ev.rttMs;
      p.reason = ev.reason;
      p.hist = ((p.hist << 1) | (ev.up ? 1 : 0)) & HIST_MASK;
      p.histLen = Math.min(HIST, p.histLen + 1);
      if (ev.up) {
        p.successes += 1;
        p.failures = 0;
        p.failingSince = null;
      } else {
        p.failures += 1;
        p.successes = 0;
        p.failingSince ??= ev.at;
      }
      if (p.maintenance) return { point: p };

      let transition: MachineTransition | undefined;
      if (ev.up) {
        if (p.successes >= M) {
          setState('UP');
          transition = announce('UP', ev.reason);
        } else if (p.state === 'PENDING' || p.state === 'UNKNOWN') {
          // Not yet M successes: stay where we are (a DOWN point stays DOWN).
        }
      } else if (p.failures >= N) {
        setState('DOWN');
        transition = announce('DOWN', ev.reason);
      } else if (p.state !== 'DOWN') {
        setState('PENDING');
      }

      const pct = flapPercent(p.hist, p.histLen);
      if (!p.flapping && pct >= rules.flapHigh) {
        // The change that tipped the balance is part of the episode, not announced on its own.
        p.flapping = true;
        p.flapFrom = transition ? transition.from : p.confirmed;
        if (transition) p.seq -= 1;
        const from = p.flapFrom;
        p.seq += 1;
        transition = { seq: p.seq, from, to: p.confirmed, at: ev.at, reason: `flapping (${pct.toFixed(0)}% state change)`, rttMs: p.rttMs, flapping: true, failingSince: null };
      } else if (p.flapping && pct < rules.flapLow) {
        p.flapping = false;
        const from = p.flapFrom ?? p.confirmed;
        p.flapFrom = null;
        p.seq += 1;
        transition = { seq: p.seq, from, to: p.confirmed, at: ev.at, reason: `stopped flapping (${pct.toFixed(0)}% state change)`, rttMs: p.rttMs, flapping: false, failingSince: p.confirmed === 'DOWN' ? p.failingSince : null };
      }
      return { point: p, transition };
    }
  }
}

/**
 * The two steady cases of a check, applied to the point in place: an UP point answering again, or a
 * DOWN point failing again, each with a full history of that same result (so the flap percent is 0 and
 * nothing can be announced). Returns false, touching nothing, in every other case: then use `step`.
 * The outcome equals `step`'s (a randomised test holds them equal); it exists because `step` copies the
 * point, and at thousands of checks a second almost every check is one of these two.
 */
export function steadyCheck(p: PointState, at: number, up: boolean, rttMs: number | null, reason: string | null, rules: MachineRules): boolean {
  if (p.flapping || p.maintenance || p.histLen !== HIST || rules.flapHigh <= 0) return false;
  if (up) {
    if (p.state !== 'UP' || p.confirmed !== 'UP' || p.hist !== HIST_MASK) return false;
    p.successes += 1;
    p.failures = 0;
    p.failingSince = null;
  } else {
    if (p.state !== 'DOWN' || p.confirmed !== 'DOWN' || p.hist !== 0) return false;
    p.failures += 1;
    p.successes = 0;
    p.failingSince ??= at;
  }
  p.lastCheckAt = at;
  p.rttMs = rttMs;
  p.reason = reason;
  return true;
}
