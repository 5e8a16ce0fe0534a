import { cameraStates, stateCodeOf, type CameraState, type ConfirmedState } from '../contracts/live';
import { interned } from '../lib/intern';
import { probeKinds, type ProbeKind } from '../probes/types';
import { initialState, type PointState } from './state-machine';

/** What the mirror keeps of a dormant point besides its machine state (see DormantPoints). */
export interface DormantFacts {
  regionId: string;
  kind: ProbeKind;
  intervalMs: number;
  retries: number;
  enabled: boolean;
  connected: boolean;
  /** As on the point (points.ts). */
  statusWrittenSec: number;
  /** Epoch ms; kept to the second, which is all the time accounting reads of it (rollups.ts floors it). */
  acctSince: number;
}

const ENABLED = 1;
const CONNECTED = 2;
const M_CONNECTED = 4;
const M_MAINTENANCE = 8;
/** The machine state is held whole in `unusual` (a restored state with counters or a flap mark). */
const UNUSUAL = 16;

const KIND_CODE = new Map<ProbeKind, number>(probeKinds.map((k, i) => [k, i]));

/**
 * The points that are not probed (disabled, or registered and not connected yet: 未接入) and idle, kept as
 * columns by slot instead of the engine's objects: one map entry (id → slot) and ~60 bytes of typed arrays
 * a point, where a `Point` with its probe target and machine state is ~650 bytes. A district keeps thousands
 * of these and an import adds them by the hundred thousand; nothing reads them on the polling path.
 *
 * Lossless for what the engine and the time accounting read: the machine state field by field (the fields
 * that a disable or a disconnect resets are zero or null here by construction, so a state that has them
 * set — restored from an odd stored status — is kept whole in `unusual`), the accounting cursor, the
 * registry facts the mirror compares. Not kept: the probe target (built again from the registry when the
 * point wakes up) and the open history slot (closed into the write buffer before a point goes to sleep).
 */
export class DormantPoints {
  private readonly slotOf = new Map<string, number>();
  private readonly freeSlots: number[] = [];
  private readonly unusual = new Map<number, PointState>();
  private cap = 0;
  private top = 0;
  private flags = new Uint8Array(0);
  private kind = new Uint8Array(0);
  private retries = new Uint8Array(0);
  private state = new Uint8Array(0);
  private confirmed = new Uint8Array(0);
  private seq = new Uint32Array(0);
  private intervalMs = new Uint32Array(0);
  private statusSec = new Int32Array(0);
  private acctSec = new Uint32Array(0);
  private since = new Float64Array(0);
  private lastCheckAt = new Float64Array(0);
  private rttMs = new Float64Array(0);
  private regionIds: string[] = [];
  private reasons: Array<string | null> = [];

  get size(): number {
    return this.slotOf.size;
  }

  has(id: string): boolean {
    return this.slotOf.has(id);
  }

  ids(): IterableIterator<string> {
    return this.slotOf.keys();
  }

  /** Whether the point's facts are these (then a registry re-read changes nothing while it sleeps). */
  same(id: string, regionId: string, enabled: boolean, connected: boolean): boolean {
    const s = this.slotOf.get(id);
    if (s === undefined) return false;
    const f = this.flags[s];
    return this.regionIds[s] === regionId && Boolean(f & ENABLED) === enabled && Boolean(f & CONNECTED) === connected;
  }

  stateOf(id: string): CameraState | undefined {
    const s = this.slotOf.get(id);
    if (s === undefined) return undefined;
    return this.flags[s] & UNUSUAL ? this.unusual.get(s)?.state : cameraStates[this.state[s]];
  }

  maintenanceOf(id: string): boolean | undefined {
    const s = this.slotOf.get(id);
    if (s === undefined) return undefined;
    return this.flags[s] & UNUSUAL ? this.unusual.get(s)?.maintenance : Boolean(this.flags[s] & M_MAINTENANCE);
  }

  /** Adds each point's state to `by` (counts by state name) and returns how many are flapping. */
  count(by: Record<string, number>): number {
    let flapping = 0;
    for (const s of this.slotOf.values()) {
      const m = this.flags[s] & UNUSUAL ? this.unusual.get(s) : undefined;
      const st = m ? m.state : cameraStates[this.state[s]];
      by[st] = (by[st] ?? 0) + 1;
      if (m?.flapping) flapping++;
    }
    return flapping;
  }

  /** Stores a point (its id must not be here yet). */
  put(id: string, f: DormantFacts, m: PointState): void {
    const s = this.freeSlots.pop() ?? this.nextSlot();
    this.slotOf.set(id, s);
    let flags = (f.enabled ? ENABLED : 0) | (f.connected ? CONNECTED : 0);
    this.kind[s] = KIND_CODE.get(f.kind) ?? 0;
    this.retries[s] = f.retries;
    this.intervalMs[s] = f.intervalMs;
    this.statusSec[s] = f.statusWrittenSec;
    this.acctSec[s] = Math.max(0, Math.floor(f.acctSince / 1000));
    this.regionIds[s] = f.regionId;
    if (isPlain(m)) {
      flags |= (m.connected ? M_CONNECTED : 0) | (m.maintenance ? M_MAINTENANCE : 0);
      this.state[s] = stateCodeOf[m.state];
      this.confirmed[s] = stateCodeOf[m.confirmed];
      this.seq[s] = m.seq;
      this.since[s] = m.since;
      this.lastCheckAt[s] = m.lastCheckAt ?? NaN;
      this.rttMs[s] = m.rttMs ?? NaN;
      this.reasons[s] = m.reason === null ? null : interned.str(m.reason);
    } else {
      flags |= UNUSUAL;
      this.unusual.set(s, m);
      this.reasons[s] = null;
    }
    this.flags[s] = flags;
  }

  /** Removes a point and hands back what was kept of it. */
  take(id: string): { facts: DormantFacts; m: PointState } | undefined {
    const s = this.slotOf.get(id);
    if (s === undefined) return undefined;
    this.slotOf.delete(id);
    this.freeSlots.push(s);
    const flags = this.flags[s];
    const facts: DormantFacts = {
      regionId: this.regionIds[s],
      kind: probeKinds[this.kind[s]],
      intervalMs: this.intervalMs[s],
      retries: this.retries[s],
      enabled: Boolean(flags & ENABLED),
      connected: Boolean(flags & CONNECTED),
      statusWrittenSec: this.statusSec[s],
      acctSince: this.acctSec[s] * 1000,
    };
    let m: PointState;
    if (flags & UNUSUAL) {
      m = this.unusual.get(s) as PointState;
      this.unusual.delete(s);
    } else {
      // built as initialState builds it, so every machine state shares one shape
      m = initialState(this.since[s], true, Boolean(flags & M_CONNECTED));
      m.state = cameraStates[this.state[s]];
      m.confirmed = cameraStates[this.confirmed[s]] as ConfirmedState;
      m.seq = this.seq[s];
      m.maintenance = Boolean(flags & M_MAINTENANCE);
      const last = this.lastCheckAt[s];
      const rtt = this.rttMs[s];
      m.lastCheckAt = Number.isNaN(last) ? null : last;
      m.rttMs = Number.isNaN(rtt) ? null : rtt;
      m.reason = this.reasons[s];
    }
    this.regionIds[s] = '';
    this.reasons[s] = null;
    return { facts, m };
  }

  private nextSlot(): number {
    if (this.top === this.cap) this.grow(Math.max(1024, Math.ceil(this.cap * 1.5)));
    return this.top++;
  }

  private grow(cap: number): void {
    const widen = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.flags = widen(this.flags, (n) => new Uint8Array(n));
    this.kind = widen(this.kind, (n) => new Uint8Array(n));
    this.retries = widen(this.retries, (n) => new Uint8Array(n));
    this.state = widen(this.state, (n) => new Uint8Array(n));
    this.confirmed = widen(this.confirmed, (n) => new Uint8Array(n));
    this.seq = widen(this.seq, (n) => new Uint32Array(n));
    this.intervalMs = widen(this.intervalMs, (n) => new Uint32Array(n));
    this.statusSec = widen(this.statusSec, (n) => new Int32Array(n));
    this.acctSec = widen(this.acctSec, (n) => new Uint32Array(n));
    this.since = widen(this.since, (n) => new Float64Array(n));
    this.lastCheckAt = widen(this.lastCheckAt, (n) => new Float64Array(n));
    this.rttMs = widen(this.rttMs, (n) => new Float64Array(n));
    this.cap = cap;
  }
}

/**
 * A machine state whose run counters, flap mark and failing run are clear: what a disable or a disconnect
 * leaves (state-machine.ts), so nearly every dormant point. Its seq fits the column (uint32).
 */
function isPlain(m: PointState): boolean {
  return (
    m.failures === 0 &&
    m.successes === 0 &&
    m.hist === 0 &&
    m.histLen === 0 &&
    !m.flapping &&
    m.flapFrom === null &&
    m.failingSince === null &&
    Number.isInteger(m.seq) &&
    m.seq >= 0 &&
    m.seq <= 0xffff_ffff
  );
}
