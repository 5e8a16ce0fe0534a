import type { mongo, Connection } from 'mongoose';
import type { Logger } from '../lib/logger';
import { monthOfDay } from '../lib/calendar';
import { historyFields, monthDocId, dayDocId, type DayDoc, type HistoryField, type HistoryStore, type MonthDoc } from './history-store';

/** The hourly rollups of before (one document per point and UTC hour, fractional seconds). */
interface OldRollup {
  _id: string;
  cameraId: mongo.ObjectId | string;
  hour: Date;
  upSec?: number;
  downSec?: number;
  maintenanceSec?: number;
  unknownSec?: number;
  checks?: number;
  failures?: number;
}

const OLD = 'rollups';
const MARKER_COLLECTION = 'migrations';
const MARKER_ID = 'rollups-to-history';
const OLD_FIELDS: ReadonlyArray<[keyof OldRollup, HistoryField | 'k' | 'f']> = [
  ['upSec', 'u'],
  ['downSec', 'd'],
  ['maintenanceSec', 'm'],
  ['unknownSec', 'n'],
  ['checks', 'k'],
  ['failures', 'f'],
];
const BATCH = 500;

interface Marker {
  _id: string;
  done: boolean;
  at: Date;
  rollups?: number;
}

export interface MigrationOptions {
  /** Called after each batch written (tests inject a crash here). */
  afterBatch?: (batch: number) => void;
}

/**
 * Moves the hourly rollups of earlier versions into the compact history, once, at start (before polling
 * writes anything). Each point's rollups are read together (sorted by point) and its day and month
 * documents are written whole (replace, not $inc), so a run cut short by a crash and run again writes the
 * same documents: the result does not depend on how far the first run got. A marker document records
 * completion; then the old collection is dropped (a crash between the two drops it on the next start).
 * Old hours are UTC hours: each goes to the local hour slot (REPORT_TZ) its start falls in; seconds are
 * rounded per hour. The midnight state (`s`) is unknown for migrated days; the online rate then reads the
 * last transition before the day.
 */
export async function migrateRollups(conn: Connection, history: HistoryStore, logger: Logger, opts: MigrationOptions = {}): Promise<{ rollups: number; days: number } | null> {
  const db = conn.db;
  if (!db) throw new Error('store not connected');
  const markers = db.collection<Marker>(MARKER_COLLECTION);
  const exists = (await db.listCollections({ name: OLD }, { nameOnly: true }).toArray()).length > 0;
  const marker = await markers.findOne({ _id: MARKER_ID });
  if (marker?.done) {
    if (exists) await db.collection(OLD).drop();
    return null;
  }
  if (!exists) {
    await markers.updateOne({ _id: MARKER_ID }, { $set: { done: true, at: new Date(), rollups: 0 } }, { upsert: true });
    return null;
  }
  const cal = history.calendar;
  const old = db.collection<OldRollup>(OLD);
  let rollups = 0;
  let dayCount = 0;
  let batches = 0;
  let ops: { days: mongo.AnyBulkWriteOperation<DayDoc>[]; months: mongo.AnyBulkWriteOperation<MonthDoc>[]; marks: Set<number> } = { days: [], months: [], marks: new Set() };
  const write = async (): Promise<void> => {
    if (ops.days.length) await history.days.bulkWrite(ops.days, { ordered: false });
    if (ops.months.length) {
      await history.mark(ops.marks, Date.now());
      await history.months.bulkWrite(ops.months, { ordered: false });
    }
    ops = { days: [], months: [], marks: new Set() };
    opts.afterBatch?.(++batches);
  };
  let current: string | null = null;
  let days = new Map<number, DayDoc>();
  const finishPoint = async (): Promise<void> => {
    if (current === null) return;
    const months = new Map<number, MonthDoc>();
    for (const [key, doc] of days) {
      ops.days.push({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } });
      ops.marks.add(key);
      dayCount++;
      const month = monthOfDay(key);
      let m = months.get(month);
      if (!m) months.set(month, (m = { _id: monthDocId(month, current) }));
      const dom = String(key % 100);
      for (const f of [...historyFields, 'p'] as const) {
        const v = doc[f];
        if (v) (m[f] ??= {})[dom] = v;
      }
    }
    for (const m of months.values()) ops.months.push({ replaceOne: { filter: { _id: m._id }, replacement: m, upsert: true } });
    days = new Map();
    if (ops.days.length >= BATCH) await write();
  };
  const cursor = old.find({}, { sort: { cameraId: 1, hour: 1 }, batchSize: 2000 });
  for await (const r of cursor) {
    rollups++;
    const cameraId = String(r.cameraId);
    if (cameraId !== current) {
      await finishPoint();
      current = cameraId;
    }
    const slot = cal.hourSlot(r.hour.getTime());
    let doc = days.get(slot.day.key);
    if (!doc) days.set(slot.day.key, (doc = { _id: dayDocId(slot.day.key, cameraId), h: {} }));
    const h = doc.h as NonNullable<DayDoc['h']>;
    for (const [from, to] of OLD_FIELDS) {
      const v = Math.round(Number(r[from] ?? 0));
      if (!v) continue;
      doc[to] = (doc[to] ?? 0) + v;
      const slots = (h[to] ??= {});
      slots[slot.index] = (slots[slot.index] ?? 0) + v;
    }
  }
  await finishPoint();
  await write();
  await markers.updateOne({ _id: MARKER_ID }, { $set: { done: true, at: new Date(), rollups } }, { upsert: true });
  await old.drop();
  logger.info('hourly rollups moved into the compact history', { rollups, days: dayCount });
  return { rollups, days: dayCount };
}
