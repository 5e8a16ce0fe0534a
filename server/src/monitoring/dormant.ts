import { cameraStates, stateCodeOf, type CameraState, type ConfirmedState } from '../contracts/live';
import { sharedCodes, SlotTable } from '../lib/columns';
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
 * columns by slot instead of the engine's objects (a `SlotTable`, lib/columns.ts): one map entry (id → slot)
 * and ~50 bytes of typed arrays a point, where a `Point` with its probe target and machine
 * state is ~650 bytes. A district keeps thousands of these and an import adds them by the hundred thousand;
 * nothing reads them on the polling path.
 *
 * Lossless for what the engine and the time accounting read: the machine state field by field (the fields
 * that a disable or a disconnect resets are zero or null here by construction, so a state that has them
 * set — restored from an odd stored status — is kept whole in `unusual`), the accounting cursor, the
 * registry facts the mirror compares. Not kept: the probe target (built again from the registry when the
 * point wakes up) and the open history slot (closed into the write buffer before a point goes to sleep).
 */
export class DormantPoints {
  private readonly table = new SlotTable();
  private readonly unusual = new Map<number, PointState>();
  private readonly flags = this.table.u8();
  private readonly kind = this.table.u8();
  private readonly retries = this.table.u8();
  private readonly state = this.table.u8();
  private readonly confirmed = this.table.u8();
  private readonly seq = this.table.u32();
  private readonly intervalMs = this.table.u32();
  private readonly statusSec = this.table.i32();
  private readonly acctSec = this.table.u32();
  private readonly since = this.table.f64();
  /** NaN: never checked (the column makes no page for points that never were). */
  private readonly lastCheckAt = this.table.f64(NaN);
  private readonly rttMs = this.table.f64(NaN);
  /** Code of the region id in `sharedCodes` (4 bytes a point where a reference to the string takes 8). */
  private readonly region = this.table.u32();
  private readonly reasons = this.table.values<string | null>(null);
  /** Points here by state code, and how many of them are flapping (kept as points come and go: a metrics scrape read every point). */
  private readonly byState = new Float64Array(cameraStates.length);
  private flapping = 0;

  get size(): number {
    return this.table.size;
  }

  has(id: string): boolean {
    return this.table.has(id);
  }

  ids(): IterableIterator<string> {
    return this.table.ids();
  }

  /** Whether the point's facts are these (then a registry re-read changes nothing while it sleeps). */
  same(id: string, regionId: string, enabled: boolean, connected: boolean): boolean {
    const s = this.table.slot(id);
    if (s === -1) return false;
    const f = this.flags.get(s);
    return this.region.get(s) === sharedCodes.find(regionId) && Boolean(f & ENABLED) === enabled && Boolean(f & CONNECTED) === connected;
  }

  stateOf(id: string): CameraState | undefined {
    const s = this.table.slot(id);
    if (s === -1) return undefined;
    return this.flags.get(s) & UNUSUAL ? this.unusual.get(s)?.state : cameraStates[this.state.get(s)];
  }

  maintenanceOf(id: string): boolean | undefined {
    const s = this.table.slot(id);
    if (s === -1) return undefined;
    const f = this.flags.get(s);
    return f & UNUSUAL ? this.unusual.get(s)?.maintenance : Boolean(f & M_MAINTENANCE);
  }

  /** Adds the points' states to `by` (counts by state name) and returns how many are flapping. */
  count(by: Record<string, number>): number {
    this.byState.forEach((n, code) => {
      if (n > 0) by[cameraStates[code]] = (by[cameraStates[code]] ?? 0) + n;
    });
    return this.flapping;
  }

  /** The ids here now, made one by one as a pass reaches them (SlotTable.idsSnapshot). */
  idsSnapshot(): Iterable<string> {
    return this.table.idsSnapshot();
  }

  /** Stores a point (its id must not be here yet). */
  put(id: string, f: DormantFacts, m: PointState): void {
    const s = this.table.add(id);
    this.byState[stateCodeOf[m.state]]++;
    if (m.flapping) this.flapping++;
    let flags = (f.enabled ? ENABLED : 0) | (f.connected ? CONNECTED : 0);
    this.kind.set(s, KIND_CODE.get(f.kind) ?? 0);
    this.retries.set(s, f.retries);
    this.intervalMs.set(s, f.intervalMs);
    this.statusSec.set(s, f.statusWrittenSec);
    this.acctSec.set(s, Math.max(0, Math.floor(f.acctSince / 1000)));
    this.region.set(s, sharedCodes.code(f.regionId));
    if (isPlain(m)) {
      flags |= (m.connected ? M_CONNECTED : 0) | (m.maintenance ? M_MAINTENANCE : 0);
      this.state.set(s, stateCodeOf[m.state]);
      this.confirmed.set(s, stateCodeOf[m.confirmed]);
      this.seq.set(s, m.seq);
      this.since.set(s, m.since);
      this.lastCheckAt.set(s, m.lastCheckAt ?? NaN);
      this.rttMs.set(s, m.rttMs ?? NaN);
      this.reasons.set(s, m.reason === null ? null : interned.str(m.reason));
    } else {
      flags |= UNUSUAL;
      this.unusual.set(s, m);
      this.reasons.set(s, null);
    }
    this.flags.set(s, flags);
  }

  /** Removes a point and hands back what was kept of it. */
  take(id: string): { facts: DormantFacts; m: PointState } | undefined {
    const s = this.table.remove(id);
    if (s === -1) return undefined;
    const flags = this.flags.get(s);
    const facts: DormantFacts = {
      regionId: sharedCodes.value(this.region.get(s)),
      kind: probeKinds[this.kind.get(s)],
      intervalMs: this.intervalMs.get(s),
      retries: this.retries.get(s),
      enabled: Boolean(flags & ENABLED),
      connected: Boolean(flags & CONNECTED),
      statusWrittenSec: this.statusSec.get(s),
      acctSince: this.acctSec.get(s) * 1000,
    };
    let m: PointState;
    if (flags & UNUSUAL) {
      m = this.unusual.get(s) as PointState;
      this.unusual.delete(s);
    } else {
      // built as initialState builds it, so every machine state shares one shape
      m = initialState(this.since.get(s), true, Boolean(flags & M_CONNECTED));
      m.state = cameraStates[this.state.get(s)];
      m.confirmed = cameraStates[this.confirmed.get(s)] as ConfirmedState;
      m.seq = this.seq.get(s);
      m.maintenance = Boolean(flags & M_MAINTENANCE);
      const last = this.lastCheckAt.get(s);
      const rtt = this.rttMs.get(s);
      m.lastCheckAt = Number.isNaN(last) ? null : last;
      m.rttMs = Number.isNaN(rtt) ? null : rtt;
      m.reason = this.reasons.get(s);
    }
    // the string columns hold nothing alive once the slot is free
    this.reasons.reset(s);
    this.byState[stateCodeOf[m.state]]--;
    if (m.flapping) this.flapping--;
    return { facts, m };
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
