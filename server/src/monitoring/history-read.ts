import { mongo } from 'mongoose';
import { storeId } from '../cameras/read-model';
import type { ConfirmedState } from '../contracts/live';
import type { Calendar } from '../lib/calendar';
import type { HistoryStore, MonthDoc } from './history-store';
import { sumMonthBytes, sumMonthDoc, type MonthDays, type MonthSum } from './month-sums';
import type { MonitoringStore } from './persistence';

export { categoryOfState, historyFields, CAT_UP, CAT_DOWN, type HistoryField, type MonthDoc } from './history-store';
export { monthDays, type MonthDays, type MonthSum } from './month-sums';

/** A transition as the online rate reads it: when (epoch ms) and the confirmed state it led to. */
export interface StateChange {
  at: number;
  to: ConfirmedState;
}

/** Above this many points a read scans the whole day/month range and filters, instead of an `$in`. */
const IN_LIMIT = 2000;

/**
 * The typed read of monitoring's history for other capabilities (reports): month documents, transitions
 * in a window, the state before an instant. Nothing outside monitoring names its collections.
 */
export class HistoryRead {
  constructor(private readonly store: MonitoringStore) {}

  private get history(): HistoryStore {
    return this.store.history;
  }

  get calendar(): Calendar {
    return this.history.calendar;
  }

  /** Month documents (yyyymm) of the given points (null: all), optionally projected. */
  monthDocs(month: number, ids: ReadonlySet<string> | null, projection?: Record<string, 0 | 1>): AsyncGenerator<{ cameraId: string; doc: MonthDoc }> {
    return this.history.monthDocs(month, ids, projection);
  }

  /**
   * Each month document of the given points (null: all) summed over some of its days, straight from its bytes
   * (month-sums.ts): one cursor over the month, batched, nothing decoded into documents.
   */
  async *monthSums(month: number, ids: ReadonlySet<string> | null, days: MonthDays): AsyncGenerator<MonthSum> {
    for await (const bytes of this.history.monthBytes(month, ids)) {
      const sum = sumMonthBytes(bytes, days) ?? sumMonthDoc(mongo.BSON.deserialize(bytes) as MonthDoc, days);
      if (ids === null || ids.has(sum.cameraId)) yield sum;
    }
  }

  /** When month documents of each day were last written: yyyymm → day of month → epoch ms (history-store.ts). */
  marksOf(months: readonly number[]): Promise<Map<number, Record<string, number>>> {
    return this.history.marksOf(months);
  }

  /** Transitions with `from ≤ at < to` of the given points, per point in order. */
  async changesBetween(ids: ReadonlySet<string> | null, from: number, to: number): Promise<Map<string, StateChange[]>> {
    const filter: Record<string, unknown> = { at: { $gte: new Date(from), $lt: new Date(to) } };
    if (ids !== null && ids.size <= IN_LIMIT) filter.cameraId = { $in: [...ids].map(storeId) };
    const out = new Map<string, Array<StateChange & { seq: number }>>();
    const cursor = this.store.transitions.find(filter, { projection: { cameraId: 1, at: 1, to: 1, seq: 1 }, batchSize: 5000 });
    for await (const d of cursor) {
      const id = String(d.cameraId);
      if (ids !== null && !ids.has(id)) continue;
      let list = out.get(id);
      if (!list) out.set(id, (list = []));
      list.push({ at: d.at.getTime(), to: d.to as ConfirmedState, seq: d.seq });
    }
    for (const list of out.values()) list.sort((a, b) => a.at - b.at || a.seq - b.seq);
    return out;
  }

  /** Whether any transition at all is older than `t` (spares a per-point search when none is). */
  async anyChangeBefore(t: number): Promise<boolean> {
    return (await this.store.transitions.findOne({ at: { $lt: new Date(t) } }, { projection: { _id: 1 } })) !== null;
  }

  /** The confirmed state of each point after its last transition before `t` (points without one are absent). */
  async stateBefore(ids: readonly string[], t: number): Promise<Map<string, ConfirmedState>> {
    const out = new Map<string, ConfirmedState>();
    for (let i = 0; i < ids.length; i += IN_LIMIT) {
      const cursor = this.store.transitions.aggregate<{ _id: unknown; to: ConfirmedState }>([
        { $match: { cameraId: { $in: ids.slice(i, i + IN_LIMIT).map(storeId) }, at: { $lt: new Date(t) } } },
        { $sort: { cameraId: 1, at: -1, seq: -1 } },
        { $group: { _id: '$cameraId', to: { $first: '$to' } } },
      ]);
      for await (const row of cursor) out.set(String(row._id), row.to);
    }
    return out;
  }
}
