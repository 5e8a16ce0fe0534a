import type { mongo, Connection } from 'mongoose';
import type { ConfirmedState } from '../contracts/live';
import { monthOfDay, monthsBefore, type Calendar } from '../lib/calendar';

/**
 * Compact history of every point's time (DESIGN.md Storage): per point and calendar day one document with
 * the day's seconds per category and its hourly slots; per point and calendar month one document with the
 * daily figures. Days and months are those of REPORT_TZ. Transitions stay the exact truth; these are sums.
 *
 * Categories are the confirmed state the time was spent in (PENDING counts as the state it may leave, so
 * it is inside `u`/`d`/`n`; `p` says how much of the day was PENDING), with one-letter field names:
 *
 * | field | confirmed state   | in the online rate |
 * |-------|-------------------|--------------------|
 * | u     | UP                | numerator, denominator |
 * | d     | DOWN              | denominator        |
 * | m     | MAINTENANCE       | excluded           |
 * | n     | UNKNOWN (never checked, or undecided after maintenance) | excluded |
 * | c     | NOT_CONNECTED     | excluded           |
 * | x     | DISABLED          | excluded           |
 * | p     | PENDING (a part of u/d/n) | —          |
 *
 * Day document `history_days`, `_id` "yyyymmdd:cameraId":
 *   { u, d, m, n, c, x, p, k (checks), f (failures), s (category index at local midnight), h: { <field>: { "<hour>": seconds } } }
 *   (fields absent when 0; hour = 0.. from local midnight). Hourly slots are dropped after HISTORY_HOURLY_DAYS,
 *   the document after HISTORY_DAY_DAYS.
 * Month document `history_months`, `_id` "yyyymm:cameraId":
 *   { u: { "<day of month>": seconds }, d: {…}, m, n, c, x, p, s: { "<day>": category at that midnight } }
 *   kept HISTORY_MONTHS calendar months.
 * No secondary index: every read is an `_id` lookup or an `_id` range (one day or month of all points).
 *
 * Write marks `history_marks`, `_id` yyyymm: { d: { "<day of month>": epoch ms } } — when month documents of
 * that day were last written (set before the write, so a mark is never older than a write it covers). Sums
 * derived from the month documents (reports/sums.ts) compare these to know whether a day changed since.
 */

/** The time categories, in index order (a point's slot keeps its seconds by these indexes). */
export const historyFields = ['u', 'd', 'm', 'n', 'c', 'x'] as const;
export type HistoryField = (typeof historyFields)[number];

/** Category index of each confirmed state (the vocabulary is contracts/live.ts). */
export const categoryOfState: Readonly<Record<ConfirmedState, number>> = {
  UP: 0,
  DOWN: 1,
  MAINTENANCE: 2,
  UNKNOWN: 3,
  NOT_CONNECTED: 4,
  DISABLED: 5,
};
export const CAT_UP = 0;
export const CAT_DOWN = 1;

/** Seconds per category (historyFields order) plus pending seconds, checks and failures. */
export interface Figures {
  sec: number[];
  p: number;
  k: number;
  f: number;
}

export function emptyFigures(): Figures {
  return { sec: historyFields.map(() => 0), p: 0, k: 0, f: 0 };
}

export function addFigures(into: Figures, d: Figures): void {
  for (let i = 0; i < into.sec.length; i++) into.sec[i] += d.sec[i];
  into.p += d.p;
  into.k += d.k;
  into.f += d.f;
}

/** One hour slot of one point: what accounting hands to the write buffer. */
export interface HistoryDelta extends Figures {
  cameraId: string;
  /** yyyymmdd */
  day: number;
  /** day of month */
  dom: number;
  /** hour index from local midnight */
  hour: number;
  /** category index at local midnight when this slot began there, else -1 */
  s: number;
}

type Counts = Partial<Record<HistoryField | 'p' | 'k' | 'f', number>>;

export interface DayDoc extends Counts {
  _id: string;
  s?: number;
  h?: Partial<Record<HistoryField | 'p' | 'k' | 'f', Record<string, number>>>;
}

export type MonthDoc = { _id: string; s?: Record<string, number> } & Partial<Record<HistoryField | 'p', Record<string, number>>>;

export interface MarkDoc {
  _id: number;
  d?: Record<string, number>;
}

export const dayDocId = (day: number, cameraId: string): string => `${day}:${cameraId}`;
export const monthDocId = (month: number, cameraId: string): string => `${month}:${cameraId}`;
export const cameraOfDocId = (id: string): string => id.slice(id.indexOf(':') + 1);

/** All documents of one day or month key: `_id` from "key:" up to "key;" (';' follows ':'). */
const keyRange = (key: number): { $gte: string; $lt: string } => ({ $gte: `${key}:`, $lt: `${key};` });

/** Buffered hour slots taken for one flush: written with `dayOp`/`monthOp`, handed back with `putBackDay`/`putBackMonth`. */
export interface HistoryTake {
  days: HistoryDelta[];
  months: HistoryDelta[];
}

export interface HistoryRetention {
  hourlyDays: number;
  dayDays: number;
  months: number;
}

/**
 * The history collections, their write buffers and the reads other capabilities use (reports read through
 * `HistoryStore`, never by collection name). Accounting (rollups.ts) merges hour slots into two buffers,
 * one per collection, so a failed write of one is retried without writing the other twice.
 */
export class HistoryStore {
  static readonly DAYS = 'history_days';
  static readonly MONTHS = 'history_months';
  static readonly MARKS = 'history_marks';
  private dayBuf = new Map<string, HistoryDelta>();
  private monthBuf = new Map<string, HistoryDelta>();

  constructor(
    private readonly conn: Connection,
    readonly calendar: Calendar,
  ) {}

  private col<T extends mongo.Document>(name: string): mongo.Collection<T> {
    const db = this.conn.db;
    if (!db) throw new Error('store not connected');
    return db.collection<T>(name);
  }

  get days(): mongo.Collection<DayDoc> {
    return this.col<DayDoc>(HistoryStore.DAYS);
  }

  get months(): mongo.Collection<MonthDoc> {
    return this.col<MonthDoc>(HistoryStore.MONTHS);
  }

  get marks(): mongo.Collection<MarkDoc> {
    return this.col<MarkDoc>(HistoryStore.MARKS);
  }

  /**
   * Records that month documents of these days are about to be written (call before the write: a crash
   * between mark and write leaves a mark newer than any write, which only costs a rebuild of derived sums).
   */
  async mark(days: Iterable<number>, at: number): Promise<void> {
    const byMonth = new Map<number, Record<string, number>>();
    for (const day of days) {
      const month = monthOfDay(day);
      let max = byMonth.get(month);
      if (!max) byMonth.set(month, (max = {}));
      max[`d.${day % 100}`] = at;
    }
    if (byMonth.size === 0) return;
    await this.marks.bulkWrite(
      [...byMonth].map(([month, max]) => ({ updateOne: { filter: { _id: month }, update: { $max: max }, upsert: true } })),
      { ordered: false },
    );
  }

  /** The write marks of the given months (yyyymm → day of month → epoch ms). */
  async marksOf(months: readonly number[]): Promise<Map<number, Record<string, number>>> {
    const out = new Map<number, Record<string, number>>();
    for (const doc of await this.marks.find({ _id: { $in: [...months] } }).toArray()) out.set(doc._id, doc.d ?? {});
    return out;
  }

  /** Buffered hour slots not yet written (the larger of the two buffers). */
  get buffered(): number {
    return Math.max(this.dayBuf.size, this.monthBuf.size);
  }

  /**
   * Adds an hour slot to both buffers. The day buffer keeps `d` itself when the slot is new (the caller hands
   * it over: rollups.ts builds a fresh one per spill), the month buffer a copy: a pass over 300,000 points
   * merges 2,000 slots a second, and each copy is garbage soon after.
   */
  merge(d: HistoryDelta): void {
    const id = dayDocId(d.day, d.cameraId);
    mergeInto(this.monthBuf, id, d, false);
    mergeInto(this.dayBuf, `${id}:${d.hour}`, d, true);
  }

  /** Unflushed slots of one point (answers that must include the last minutes). */
  pending(cameraId: string): HistoryDelta[] {
    const out: HistoryDelta[] = [];
    for (const d of this.dayBuf.values()) if (d.cameraId === cameraId) out.push(d);
    return out;
  }

  /** Takes at most `max` buffered slots of each buffer, those that write something (an empty $inc is an error). */
  take(max: number): HistoryTake {
    let days: HistoryDelta[];
    let months: HistoryDelta[];
    // all of a buffer (the pass fills it up to what one flush writes): the map is handed over whole, instead of
    // thousands of deletes (each a rehash step of a map that shrinks)
    if (this.dayBuf.size <= max) {
      days = keepValues(this.dayBuf, hasContent);
      this.dayBuf = new Map();
    } else days = takeFirst(this.dayBuf, max, hasContent);
    if (this.monthBuf.size <= max) {
      months = keepValues(this.monthBuf, hasMonthContent);
      this.monthBuf = new Map();
    } else months = takeFirst(this.monthBuf, max, hasMonthContent);
    return { days, months };
  }

  /** A day slot taken by `take` whose write failed goes back into the buffer (merged with what came since). */
  putBackDay(d: HistoryDelta): void {
    mergeInto(this.dayBuf, `${dayDocId(d.day, d.cameraId)}:${d.hour}`, d, true);
  }

  putBackMonth(d: HistoryDelta): void {
    mergeInto(this.monthBuf, dayDocId(d.day, d.cameraId), d, true);
  }

  /**
   * Retention: hourly slots older than `hourlyDays` are dropped from day documents, day documents older than
   * `dayDays` and month documents older than `months` calendar months are deleted (their figures live on
   * in the month documents). Idempotent; run daily and at start.
   */
  async prune(now: number, r: HistoryRetention): Promise<{ slotsDropped: number; daysDeleted: number; monthsDeleted: number }> {
    const today = this.calendar.dayOf(now).key;
    const dayCut = (n: number): string => `${this.calendar.dayOf(this.calendar.day(today).start - n * 86_400_000 + 43_200_000).key}:`;
    const slots = await this.days.updateMany({ _id: { $lt: dayCut(r.hourlyDays) }, h: { $exists: true } }, { $unset: { h: '' } });
    const days = await this.days.deleteMany({ _id: { $lt: dayCut(r.dayDays) } });
    const oldest = monthsBefore(monthOfDay(today), r.months - 1);
    const months = await this.months.deleteMany({ _id: { $lt: `${oldest}:` } });
    await this.marks.deleteMany({ _id: { $lt: oldest } });
    return { slotsDropped: slots.modifiedCount, daysDeleted: days.deletedCount, monthsDeleted: months.deletedCount };
  }

  // ---- reads (reports, the point history) ---------------------------------------------------------

  /** Day documents of one point for the given days (yyyymmdd). */
  async dayDocsOf(cameraId: string, dayKeys: number[]): Promise<DayDoc[]> {
    return this.days.find({ _id: { $in: dayKeys.map((k) => dayDocId(k, cameraId)) } }).toArray();
  }

  /**
   * Month documents of one month, for the given points (null: every point). Large sets are read as one `_id`
   * range and filtered here: cheaper than an `$in` of hundreds of thousands of ids.
   */
  async *monthDocs(month: number, ids: ReadonlySet<string> | null, projection?: Record<string, 0 | 1>): AsyncGenerator<{ cameraId: string; doc: MonthDoc }> {
    const cursor = this.months.find(this.monthFilter(month, ids), { batchSize: 5000, ...(projection ? { projection } : {}) });
    for await (const doc of cursor) {
      const cameraId = cameraOfDocId(doc._id);
      if (ids === null || ids.has(cameraId)) yield { cameraId, doc };
    }
  }
  /** Month documents as `monthDocs` selects them, as their BSON bytes (the driver decodes nothing): month-sums.ts. */
  monthBytes(month: number, ids: ReadonlySet<string> | null): AsyncIterable<Uint8Array> {
    return this.months.find(this.monthFilter(month, ids), { batchSize: 5000, raw: true }) as unknown as AsyncIterable<Uint8Array>;
  }

  private monthFilter(month: number, ids: ReadonlySet<string> | null): Record<string, unknown> {
    return ids !== null && ids.size <= 2000 ? { _id: { $in: [...ids].map((id) => monthDocId(month, id)) } } : { _id: keyRange(month) };
  }
}

/** Adds `d` to the buffer's entry at `key`; a new entry is `d` itself when `owned`, else a copy. */
function mergeInto(buf: Map<string, HistoryDelta>, key: string, d: HistoryDelta, owned: boolean): void {
  const cur = buf.get(key);
  if (!cur) {
    // the copy written out (a spread copies property by property, generically)
    buf.set(key, owned ? d : { cameraId: d.cameraId, day: d.day, dom: d.dom, hour: d.hour, s: d.s, sec: d.sec.slice(), p: d.p, k: d.k, f: d.f });
    return;
  }
  addFigures(cur, d);
  if (d.s >= 0 && (cur.s < 0 || d.hour < cur.hour)) cur.s = d.s;
  if (d.hour < cur.hour) cur.hour = d.hour;
}

/**
 * Removes the first `n` values of a map (insertion order: the oldest buffered first) and returns those that
 * pass `keep`.
 */
function takeFirst<V>(m: Map<string, V>, n: number, keep: (v: V) => boolean): V[] {
  const out: V[] = [];
  let taken = 0;
  for (const [k, v] of m) {
    if (taken++ >= n) break;
    if (keep(v)) out.push(v);
    m.delete(k);
  }
  return out;
}

/** The values of a map that pass `keep`. */
function keepValues<V>(m: Map<string, V>, keep: (v: V) => boolean): V[] {
  const out: V[] = [];
  for (const v of m.values()) if (keep(v)) out.push(v);
  return out;
}

function anySeconds(d: HistoryDelta): boolean {
  for (let i = 0; i < d.sec.length; i++) if (d.sec[i] > 0) return true;
  return false;
}

/** A slot with no seconds, no checks and no midnight state writes nothing. */
function hasContent(d: HistoryDelta): boolean {
  return d.s >= 0 || d.p > 0 || d.k > 0 || d.f > 0 || anySeconds(d);
}

/** Month documents hold no checks: a slot of checks only writes nothing there. */
function hasMonthContent(d: HistoryDelta): boolean {
  return d.s >= 0 || d.p > 0 || anySeconds(d);
}

/** The `$inc` paths, built once: the hot path writes thousands of slots a second. */
const slotFields = [...historyFields, 'p', 'k', 'f'] as const;
const hourPaths = slotFields.map((f) => Array.from({ length: 25 }, (_, h) => `h.${f}.${h}`));
const dayPaths = slotFields.map((f) => Array.from({ length: 32 }, (_, dom) => `${f}.${dom}`));
const midnightPaths = Array.from({ length: 32 }, (_, dom) => `s.${dom}`);
const P = historyFields.length;

/** One statement of the store's `update` command (what a bulk `updateOne` becomes on the wire). */
export interface UpdateStatement {
  q: mongo.Document;
  u: mongo.Document;
  upsert?: true;
}

/**
 * One hour slot into its day document: $inc of the day totals and of the hour's slot. An $inc whose
 * outcome is unknown may be applied twice on retry: history tolerates that (sums; transitions are exact).
 */
export function dayOp(d: HistoryDelta): UpdateStatement {
  const inc: Record<string, number> = {};
  const sec = d.sec;
  for (let i = 0; i < P; i++) if (sec[i]) inc[historyFields[i]] = sec[i];
  if (d.p) inc.p = d.p;
  if (d.k) inc.k = d.k;
  if (d.f) inc.f = d.f;
  const h = d.hour;
  for (let i = 0; i < P; i++) if (sec[i]) inc[hourPaths[i][h]] = sec[i];
  if (d.p) inc[hourPaths[P][h]] = d.p;
  if (d.k) inc[hourPaths[P + 1][h]] = d.k;
  if (d.f) inc[hourPaths[P + 2][h]] = d.f;
  const update: Record<string, unknown> = {};
  for (const _ in inc) {
    update.$inc = inc;
    break;
  }
  if (d.s >= 0) update.$set = { s: d.s };
  return { q: { _id: dayDocId(d.day, d.cameraId) }, u: update, upsert: true };
}

/** A day's seconds into its month document. */
export function monthOp(d: HistoryDelta): UpdateStatement {
  const inc: Record<string, number> = {};
  const sec = d.sec;
  const dom = d.dom;
  let any = false;
  for (let i = 0; i < P; i++)
    if (sec[i]) {
      inc[dayPaths[i][dom]] = sec[i];
      any = true;
    }
  if (d.p) {
    inc[dayPaths[P][dom]] = d.p;
    any = true;
  }
  const update: Record<string, unknown> = {};
  if (any) update.$inc = inc;
  if (d.s >= 0) update.$set = { [midnightPaths[dom]]: d.s };
  return { q: { _id: monthDocId(monthOfDay(d.day), d.cameraId) }, u: update, upsert: true };
}
