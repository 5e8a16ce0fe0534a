import { randomUUID } from 'node:crypto';
import { mongo, type Connection } from 'mongoose';
import { daysInMonth, monthsBefore, nextMonth, type Calendar } from '../lib/calendar';
import type { Logger } from '../lib/logger';
import { CAT_DOWN, CAT_UP, categoryOfState, historyFields, type ConfirmedState, type HistoryRead, type MonthDoc, type StateChange } from '../monitoring';
import type { RateFigures } from './online-rate';
import type { PointIndex } from './point-index';

/**
 * Online-rate sums per group and day, so a region's summary or trend reads O(groups × days) instead of
 * O(points × days). A group is (region, sharing, maintainer organisation, classification): point-index.ts.
 *
 * Per group, month and day of month the sums hold, for the points of the group:
 *
 * | rows       | what                                                                                  |
 * |------------|---------------------------------------------------------------------------------------|
 * | sec (6)    | seconds per history category (u d m n c x), straight from the month documents          |
 * | p          | PENDING seconds                                                                        |
 * | on, off    | snapshot instants of the day (REPORT_SNAPSHOT_TIMES) found UP / DOWN                   |
 * | z (6)      | points per category at the day's start (the month document's `s`, else carried on)    |
 * | e (6)      | points per category at the day's end (after the day's last transition, else its start)|
 *
 * Each point-day counts as the per-point engine (online-rate.ts) counts it: seconds from the month document,
 * states at instants from the day's start state and the day's transitions (a change at t from ⌊t⌋ s); a day
 * without a recorded midnight state starts in the state the day before ended in (day 1: the state after the
 * last transition before the month), as the engine carries a state on. So for a point whose recorded midnight
 * states agree with its transitions (what monitoring writes, except inside flapping episodes, whose changes it
 * does not announce, and except a point that never had a transition and whose history stopped: its excluded
 * never-checked / not-connected seconds of later cut days) the sums and the per-point path agree to the second.
 *
 * Sealing: a month's sums cover its days 1..`sealed`, days that ended at least SEAL_GRACE_MS before the build
 * and whose history was not written in the last `quietMs` (REPORT_SUMS_QUIET_SEC; history_marks). A query checks the marks
 * again: a day written after its sums were built is not read from them (the query takes the per-point path and
 * a rebuild is due).
 *
 * Crash safety: a build writes its group documents under a new build id, then switches the month's build
 * document to it (one write), then deletes the old build's documents. A crash leaves either build whole;
 * stray documents of an unfinished build are deleted by the next build of that month. Builds are idempotent:
 * the same history and registry give the same sums.
 *
 * Registry changes: sums of a month count each point in the group it had when they were built (its index
 * `epoch`). A query corrects for the points moved since: their figures leave the old group and join the new
 * one (service.ts). Each build epoch's membership is kept (`report_sums_members`, one packed document), so after
 * a restart the stored sums are corrected the same way for the points whose group changed since.
 */

const DOMS = 32;
export const R_P = 6;
export const R_ON = 7;
export const R_OFF = 8;
export const R_Z = 9;
export const R_E = 15;
const ROWS = 21;
const CATS = historyFields.length;

/** A day ended this long ago before its sums are built (its last hour slots are written within a minute). */
export const SEAL_GRACE_MS = 10 * 60_000;

/** More points than this moved since a month's sums were built: they are built again (queries correct per moved point). */
const DRIFT_REBUILD = 1000;

/** One group's month: ROWS × DOMS figures (index row * 32 + day of month). */
export type GroupDays = Float64Array;
export type MonthSums = Map<string, GroupDays>;

const second = (t: number): number => Math.floor(t / 1000) * 1000;

/** What a month's accumulation needs besides the documents. */
export interface MonthFrame {
  month: number;
  /** Days 1..sealed are counted. */
  sealed: number;
  /** Day bounds (local midnights) by day of month. */
  starts: number[];
  ends: number[];
  /** Snapshot instants by day of month. */
  instants: number[][];
}

export function monthFrame(cal: Calendar, month: number, sealed: number, snapshotTimes: readonly string[]): MonthFrame {
  const f: MonthFrame = { month, sealed, starts: [], ends: [], instants: [] };
  for (let dom = 1; dom <= daysInMonth(month); dom++) {
    const day = cal.day(month * 100 + dom);
    f.starts[dom] = day.start;
    f.ends[dom] = day.end;
    f.instants[dom] = cal.instantsOn(day.key, snapshotTimes);
  }
  return f;
}

/**
 * Adds one point's month (its month document and its transitions within the month, in order) to group `g`.
 * A day's start state is its recorded midnight state, or, when none was recorded (history stopped, the point
 * was new), the state the day before ended in — for day 1 `initial`, the state after the point's last
 * transition before the month — as the per-point engine carries a state on through days without records.
 */
export function addPointMonth(into: MonthSums, g: string, doc: MonthDoc | undefined, changes: readonly StateChange[], f: MonthFrame, initial: number): void {
  let a = into.get(g);
  if (!a) into.set(g, (a = new Float64Array(ROWS * DOMS)));
  let ci = 0;
  let carry = initial;
  for (let dom = 1; dom <= f.sealed; dom++) {
    const key = String(dom);
    if (doc) {
      for (let c = 0; c < CATS; c++) {
        const v = doc[historyFields[c]]?.[key];
        if (v) a[c * DOMS + dom] += v;
      }
      const p = doc.p?.[key];
      if (p) a[R_P * DOMS + dom] += p;
    }
    const s = doc?.s?.[key] ?? carry;
    if (s >= 0) a[(R_Z + s) * DOMS + dom] += 1;
    const start = f.starts[dom];
    const end = f.ends[dom];
    while (ci < changes.length && second(changes[ci].at) < start) ci++;
    let cat = s;
    let j = ci;
    for (const t of f.instants[dom]) {
      while (j < changes.length && second(changes[j].at) <= t) cat = categoryOfState[changes[j++].to];
      if (cat === CAT_UP) a[R_ON * DOMS + dom] += 1;
      else if (cat === CAT_DOWN) a[R_OFF * DOMS + dom] += 1;
    }
    while (j < changes.length && second(changes[j].at) < end) cat = categoryOfState[changes[j++].to];
    if (cat >= 0) a[(R_E + cat) * DOMS + dom] += 1;
    carry = cat;
    ci = j;
  }
}

/** Whether a month document recorded the state at the month's first midnight (else `initial` is needed). */
export const hasFirstMidnight = (doc: MonthDoc | undefined): boolean => doc?.s?.['1'] !== undefined;

/** Whole day `dom` of a group into figures. */
export function addWholeDay(into: RateFigures, a: GroupDays, dom: number): void {
  for (let c = 0; c < CATS; c++) into.sec[c] += a[c * DOMS + dom];
  into.pending += a[R_P * DOMS + dom];
  into.online += a[R_ON * DOMS + dom];
  into.offline += a[R_OFF * DOMS + dom];
}

/**
 * A cut of a day for the group's points that have no transition in that day before the cut's end: each stays
 * in its state at the day's start (`row` R_Z of that day, or R_E of the day before) for `seconds`, and is
 * found in it at `instants` snapshot instants.
 */
export function addSteady(into: RateFigures, a: GroupDays, row: number, dom: number, seconds: number, instants: number): void {
  for (let c = 0; c < CATS; c++) {
    const n = a[(row + c) * DOMS + dom];
    if (!n) continue;
    into.sec[c] += n * seconds;
    if (c === CAT_UP) into.online += n * instants;
    else if (c === CAT_DOWN) into.offline += n * instants;
  }
}

/** Packs a group's month: a 32-bit mask of the rows present, then each present row's 32 figures. */
export function pack(a: GroupDays): Buffer {
  let mask = 0;
  for (let r = 0; r < ROWS; r++) {
    for (let d = 1; d < DOMS; d++) {
      if (a[r * DOMS + d] !== 0) {
        mask |= 1 << r;
        break;
      }
    }
  }
  const rows = [...Array(ROWS).keys()].filter((r) => mask & (1 << r));
  const buf = Buffer.alloc(4 + rows.length * DOMS * 8);
  buf.writeUInt32LE(mask >>> 0, 0);
  rows.forEach((r, i) => {
    for (let d = 0; d < DOMS; d++) buf.writeDoubleLE(a[r * DOMS + d], 4 + (i * DOMS + d) * 8);
  });
  return buf;
}

export function unpack(buf: Uint8Array): GroupDays {
  const mask = (buf[0] | (buf[1] << 8) | (buf[2] << 16) | (buf[3] << 24)) >>> 0;
  // a copy of the rows (Uint8Array's own slice copies, a Buffer's would not) is aligned for a Float64Array view
  const rows = new Float64Array(Uint8Array.prototype.slice.call(buf, 4).buffer);
  const a = new Float64Array(ROWS * DOMS);
  let i = 0;
  for (let r = 0; r < ROWS; r++) {
    if (!(mask & (1 << r))) continue;
    a.set(rows.subarray(i * DOMS, (i + 1) * DOMS), r * DOMS);
    i++;
  }
  return a;
}

interface BuildDoc {
  _id: number;
  build: string;
  sealed: number;
  /** history_marks of the month when the build began (day of month → epoch ms). */
  marks: Record<string, number>;
  /** PointIndex digest of the groups the build counted points in. */
  digest: string;
  snapshotTimes: string;
  groups: number;
  at: Date;
}

interface SumDoc {
  _id: string;
  b: string;
  m: number;
  g: string;
  v: mongo.Binary;
}

/** A month's sums in use: the build, the index epoch its groups are of, and the figures (loaded on demand). */
export interface MonthBuild {
  month: number;
  build: string;
  sealed: number;
  marks: Record<string, number>;
  epoch: number;
  /**
   * Built before this process started, under other groups than the index had when it loaded: the points whose
   * group then differed from their group at `epoch` (null: the point did not exist then).
   */
  before: ReadonlyMap<string, string | null> | null;
}

interface MembersDoc {
  _id: string;
  /** Group keys; `gi` indexes them. */
  groups: string[];
  /** Point ids, 12 bytes each (ObjectId), in the order of `gi`. */
  ids: mongo.Binary;
  /** Group index of each point, 4 bytes little-endian. */
  gi: mongo.Binary;
}

/** Most points whose membership is kept with the builds (one document; beyond, a restart after moves rebuilds). */
const MEMBERS_MAX = 900_000;

export interface SumsOptions {
  conn: Connection;
  history: HistoryRead;
  index: PointIndex;
  snapshotTimes: readonly string[];
  /** HISTORY_MONTHS: months kept (the current one included). */
  months: number;
  /** A day is built once its history had no write for this long (ms). */
  quietMs: number;
  logger: Logger;
  now?: () => number;
}

/** The persisted sums, their builds, and the in-memory copies queries read. */
export class SumsStore {
  static readonly BUILDS = 'report_sums_builds';
  static readonly SUMS = 'report_sums';
  static readonly MEMBERS = 'report_sums_members';
  private readonly builds = new Map<number, MonthBuild>();
  private readonly cache = new Map<string, MonthSums>();
  private queue: Promise<void> = Promise.resolve();
  private busy = 0;
  /** Months a query found stale (a late write): rebuilt on the next pass. */
  private readonly stale = new Set<number>();
  private readonly snap: string;
  /** The index digest of the last build's epoch (a pass builds many months at one epoch). */
  private digest: { epoch: number; value: string } | null = null;

  constructor(private readonly o: SumsOptions) {
    this.snap = o.snapshotTimes.join(',');
  }

  private col<T extends mongo.Document>(name: string): mongo.Collection<T> {
    const db = this.o.conn.db;
    if (!db) throw new Error('store not connected');
    return db.collection<T>(name);
  }

  private get now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** The build of a month in use, if any. */
  buildOf(month: number): MonthBuild | undefined {
    return this.builds.get(month);
  }

  markStale(month: number): void {
    this.stale.add(month);
  }

  /** The oldest month the history keeps (months before it have no figures at all). */
  oldestMonth(): number {
    const cal = this.o.history.calendar;
    return monthsBefore(cal.dayOf(this.now).month, this.o.months - 1);
  }

  /**
   * Loads the stored builds (the index must be loaded). A build made under the groups the registry has now is
   * used as it is; one made under other groups (points moved since) is used with the moved points corrected, as
   * long as the groups it was made under were kept (`report_sums_members`); else it is built again.
   */
  async open(): Promise<void> {
    await this.col<SumDoc>(SumsStore.SUMS).createIndex({ m: 1 });
    const idx = this.o.index;
    const epoch = idx.epoch;
    const digest = idx.digestAt(epoch);
    const diffs = new Map<string, ReadonlyMap<string, string | null> | null>();
    for (const b of await this.col<BuildDoc>(SumsStore.BUILDS).find({}).toArray()) {
      if (b.snapshotTimes !== this.snap) continue;
      let before: ReadonlyMap<string, string | null> | null = null;
      if (b.digest !== digest) {
        if (!diffs.has(b.digest)) diffs.set(b.digest, await this.membersDiff(b.digest, epoch));
        before = diffs.get(b.digest) ?? null;
        if (before === null) continue;
      }
      this.builds.set(b._id, { month: b._id, build: b.build, sealed: b.sealed, marks: b.marks, epoch, before });
    }
    this.keepChanges();
  }

  /** The points whose group differs from the kept membership of `digest` (null when none was kept). */
  private async membersDiff(digest: string, epoch: number): Promise<Map<string, string | null> | null> {
    const doc = await this.col<MembersDoc>(SumsStore.MEMBERS).findOne({ _id: digest });
    if (!doc) return null;
    const ids = Buffer.from(doc.ids.buffer);
    const gi = Buffer.from(doc.gi.buffer);
    const then = new Map<string, string>();
    for (let i = 0; i * 12 < ids.length; i++) then.set(ids.toString('hex', i * 12, i * 12 + 12), doc.groups[gi.readUInt32LE(i * 4)]);
    const out = new Map<string, string | null>();
    const now = new Set<string>();
    for (const [id, g] of this.o.index.membersAt(epoch)) {
      now.add(id);
      const old = then.get(id) ?? null;
      if (old !== g) out.set(id, old);
    }
    for (const [id, g] of then) if (!now.has(id)) out.set(id, g);
    return out;
  }

  /** Keeps the membership of a build's epoch once (the builds of one pass share it). */
  private async keepMembers(digest: string, epoch: number): Promise<void> {
    const col = this.col<MembersDoc>(SumsStore.MEMBERS);
    if (this.o.index.size > MEMBERS_MAX || (await col.findOne({ _id: digest }, { projection: { _id: 1 } }))) return;
    const groups = new Map<string, number>();
    const members = [...this.o.index.membersAt(epoch)];
    const ids = Buffer.alloc(members.length * 12);
    const gi = Buffer.alloc(members.length * 4);
    members.forEach(([id, g], i) => {
      ids.write(id, i * 12, 12, 'hex');
      let n = groups.get(g);
      if (n === undefined) groups.set(g, (n = groups.size));
      gi.writeUInt32LE(n, i * 4);
    });
    await col.replaceOne({ _id: digest }, { groups: [...groups.keys()], ids: new mongo.Binary(ids), gi: new mongo.Binary(gi) }, { upsert: true });
  }

  /** Points whose share in a build is not in their group now. */
  movedSince(b: MonthBuild): Set<string> {
    const out = this.o.index.changedSince(b.epoch);
    if (b.before) for (const id of b.before.keys()) out.add(id);
    return out;
  }

  /** The group a point was counted in by a build (null: not counted). */
  groupIn(b: MonthBuild, id: string): string | null {
    const g = this.o.index.groupAt(id, b.epoch);
    return b.before?.has(id) ? (b.before.get(id) ?? null) : g;
  }

  /** Forgets the in-memory copies of the sums (read again from the store on demand). */
  dropCache(): void {
    this.cache.clear();
  }

  /** The figures of a build (read once, then kept while the build is in use). */
  async sumsOf(b: MonthBuild): Promise<MonthSums> {
    const hit = this.cache.get(b.build);
    if (hit) return hit;
    const out: MonthSums = new Map();
    // a build's documents are one `_id` range ("<build>:<n>"; ';' follows ':')
    for await (const d of this.col<SumDoc>(SumsStore.SUMS).find({ _id: { $gte: `${b.build}:`, $lt: `${b.build};` } }, { batchSize: 5000 })) out.set(d.g, unpack(d.v.buffer));
    this.cache.set(b.build, out);
    return out;
  }

  /**
   * A pass that builds every month whose sums are missing, behind, stale or of old groups; passes run one after
   * the other, and the one returned starts after those already asked for (it sees every write made before).
   */
  refresh(): Promise<void> {
    this.busy++;
    const run = this.queue.then(() => this.pass()).finally(() => this.busy--);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** A pass is running or waiting. */
  get refreshing(): boolean {
    return this.busy > 0;
  }

  /** Resolves when no pass is running or waiting. */
  idle(): Promise<void> {
    return this.queue;
  }

  private async pass(): Promise<void> {
    const cal = this.o.history.calendar;
    const current = cal.dayOf(this.now).month;
    const oldest = this.oldestMonth();
    for (const [m, b] of this.builds) {
      if (m < oldest) {
        this.builds.delete(m);
        this.cache.delete(b.build);
      }
    }
    await this.col<BuildDoc>(SumsStore.BUILDS).deleteMany({ _id: { $lt: oldest } });
    await this.col<SumDoc>(SumsStore.SUMS).deleteMany({ m: { $lt: oldest } });
    const marks = await this.o.history.marksOf(monthsFrom(oldest, current));
    // newest first: after a restart that must rebuild everything, this month and the last are fast first
    for (const m of monthsFrom(oldest, current).reverse()) {
      const b = this.builds.get(m);
      const mk = marks.get(m) ?? {};
      const sealed = this.sealable(m, mk);
      const behind =
        !b ||
        b.sealed < sealed ||
        this.stale.has(m) ||
        Object.entries(mk).some(([d, t]) => Number(d) <= b.sealed && t > (b.marks[d] ?? 0)) ||
        this.movedSince(b).size > DRIFT_REBUILD;
      if (!behind || sealed === 0) continue;
      this.stale.delete(m);
      await this.build(m, sealed, mk);
    }
    this.keepChanges();
    const digests = (await this.col<BuildDoc>(SumsStore.BUILDS).find({}, { projection: { digest: 1 } }).toArray()).map((b) => b.digest);
    await this.col<MembersDoc>(SumsStore.MEMBERS).deleteMany({ _id: { $nin: digests } });
  }

  /**
   * The index keeps the changes since the oldest build in use: they correct its sums. With no build in use (a
   * new registry, months not sealed yet) it keeps none: an import would otherwise leave one entry per point.
   */
  private keepChanges(building?: number): void {
    const inUse = [...this.builds.values()].map((b) => b.epoch);
    if (building !== undefined) inUse.push(building);
    this.o.index.keepChangesSince(inUse.length ? Math.min(...inUse) : null);
  }

  /** The last day of the month that may be built now: ended SEAL_GRACE_MS ago, its history quiet for `quietMs`. */
  private sealable(month: number, marks: Record<string, number>): number {
    const cal = this.o.history.calendar;
    const now = this.now;
    let sealed = 0;
    for (let dom = 1; dom <= daysInMonth(month); dom++) {
      const day = cal.day(month * 100 + dom);
      if (day.end + SEAL_GRACE_MS > now || (marks[dom] ?? 0) > now - this.o.quietMs) break;
      sealed = dom;
    }
    return sealed;
  }

  /** Builds a month's sums from its month documents and transitions, counting each point in its group now. */
  async build(month: number, sealed: number, marks: Record<string, number>): Promise<MonthBuild> {
    const t0 = Date.now();
    const idx = this.o.index;
    const epoch = idx.epoch;
    // the build counts points in their groups at `epoch`: changes arriving while it reads must be kept
    this.keepChanges(epoch);
    if (this.digest?.epoch !== epoch) {
      this.digest = { epoch, value: idx.digestAt(epoch) };
      await this.keepMembers(this.digest.value, epoch);
    }
    const digest = this.digest.value;
    const cal = this.o.history.calendar;
    const frame = monthFrame(cal, month, sealed, this.o.snapshotTimes);
    const changes = await this.o.history.changesBetween(null, cal.monthStart(month), frame.ends[sealed]);
    // each point in the group it had at `epoch`, whatever changes arrive while the build reads
    const groupOf = (id: string): string | null => idx.groupAt(id, epoch);
    const sums: MonthSums = new Map();
    const none: StateChange[] = [];
    const seen = new Set<string>();
    // points whose first midnight is not recorded wait for the state before the month (one query for them all)
    const deferred = new Map<string, MonthDoc | undefined>();
    for await (const { cameraId, doc } of this.o.history.monthDocs(month, null)) {
      seen.add(cameraId);
      const g = groupOf(cameraId);
      if (g === null) continue;
      if (hasFirstMidnight(doc)) addPointMonth(sums, g, doc, changes.get(cameraId) ?? none, frame, -1);
      else deferred.set(cameraId, doc);
    }
    for (const [id] of idx.membersAt(epoch)) if (!seen.has(id)) deferred.set(id, undefined);
    const before = (await this.o.history.anyChangeBefore(cal.monthStart(month)))
      ? await this.o.history.stateBefore([...deferred.keys()], cal.monthStart(month))
      : new Map<string, ConfirmedState>();
    for (const [id, doc] of deferred) {
      const g = groupOf(id) as string;
      const state = before.get(id);
      const list = changes.get(id) ?? none;
      if (!doc && list.length === 0 && state === undefined) continue;
      addPointMonth(sums, g, doc, list, frame, state === undefined ? -1 : categoryOfState[state]);
    }
    const build = randomUUID();
    const sumsCol = this.col<SumDoc>(SumsStore.SUMS);
    const docs = [...sums].map(([g, a], i) => ({ _id: `${build}:${String(i).padStart(6, '0')}`, b: build, m: month, g, v: new mongo.Binary(pack(a)) }));
    for (let i = 0; i < docs.length; i += 1000) await sumsCol.insertMany(docs.slice(i, i + 1000), { ordered: false });
    await this.col<BuildDoc>(SumsStore.BUILDS).replaceOne(
      { _id: month },
      { build, sealed, marks, digest, snapshotTimes: this.snap, groups: docs.length, at: new Date() },
      { upsert: true },
    );
    await sumsCol.deleteMany({ m: month, b: { $ne: build } });
    const old = this.builds.get(month);
    if (old) this.cache.delete(old.build);
    const b: MonthBuild = { month, build, sealed, marks, epoch, before: null };
    this.builds.set(month, b);
    this.cache.set(build, sums);
    this.o.logger.info('online-rate sums built', { month, sealed, groups: docs.length, ms: Date.now() - t0 });
    return b;
  }
}

/** Months from `a` to `b` inclusive (yyyymm). */
export function monthsFrom(a: number, b: number): number[] {
  const out: number[] = [];
  for (let m = a; m <= b; m = nextMonth(m)) out.push(m);
  return out;
}
