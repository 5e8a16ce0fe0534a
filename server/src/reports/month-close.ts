import { Types, type Connection, type mongo } from 'mongoose';
import type { AssessmentRule } from '../contracts/assessment';
import { sharingValues, type Sharing } from '../contracts/vocabulary';
import { isDuplicateKey } from '../lib/store-errors';
import { historyFields } from '../monitoring';
import type { RegionNode } from '../regions/tree';
import type { AssessedPoint } from './assessment';

/**
 * Closed months (月结): once a month's grace period has passed, its figures are frozen as version 1 — every
 * point's seconds per category as the online-rate engine gave them at that moment, with the point's name,
 * code, region, sharing and organisation as they were, the region tree as it was, and the assessment rule in
 * force. The assessment of a closed month is computed from this copy only, so later renames, moves,
 * re-assignments, rule changes or exclusions never change it (and its XLSX stays byte-for-byte the same).
 * A re-issue (an admin, with a reason) freezes the data of that day as the next version; older versions
 * stay readable.
 *
 * Storage: `report_months` holds one header per (month, version) (`_id` "yyyymm:version", so two closes of
 * the same version cannot both land); `report_month_points` holds the points in chunks of CHUNK rows under
 * the header's `closeId`. Chunks are written first and the header last: a close that crashed or lost the
 * race leaves chunks no header names, which `sweep` deletes.
 */

export const CHUNK = 2000;

/** A point's frozen row: id, code, name, regionId, sharing, org, then seconds per history category, then PENDING seconds. */
type PackedRow = [string, string, string, string, Sharing, string, ...number[]];

export interface Issuer {
  userId: string;
  username: string;
}

export interface ClosedMonth {
  _id: string;
  month: number;
  version: number;
  closeId: Types.ObjectId;
  issuedAt: Date;
  /** null: the automatic close. */
  issuedBy: Issuer | null;
  reason: string | null;
  rule: AssessmentRule;
  timeZone: string;
  from: Date;
  to: Date;
  regions: RegionNode[];
  points: number;
  chunks: number;
}

interface ChunkDoc {
  _id: Types.ObjectId;
  closeId: Types.ObjectId;
  seq: number;
  rows: PackedRow[];
}

export type FreezeInput = Omit<ClosedMonth, '_id' | 'closeId' | 'points' | 'chunks'> & { rows: readonly AssessedPoint[] };

const sharingOf = (v: unknown): Sharing => (sharingValues.includes(v as Sharing) ? (v as Sharing) : 'own');

export class MonthCloseStore {
  static readonly HEADERS = 'report_months';
  static readonly CHUNKS = 'report_month_points';

  constructor(private readonly conn: Connection) {}

  private col<T extends mongo.Document>(name: string): mongo.Collection<T> {
    const db = this.conn.db;
    if (!db) throw new Error('store not connected');
    return db.collection<T>(name);
  }

  private get headers(): mongo.Collection<ClosedMonth> {
    return this.col<ClosedMonth>(MonthCloseStore.HEADERS);
  }

  private get chunks(): mongo.Collection<ChunkDoc> {
    return this.col<ChunkDoc>(MonthCloseStore.CHUNKS);
  }

  async init(): Promise<void> {
    await this.headers.createIndex({ month: 1, version: 1 }, { unique: true });
    await this.chunks.createIndex({ closeId: 1, seq: 1 }, { unique: true });
  }

  /** Every version of a month, oldest first, without the frozen tree. */
  async versions(month: number): Promise<ClosedMonth[]> {
    return this.headers.find({ month }, { projection: { regions: 0 } }).sort({ version: 1 }).toArray();
  }

  /** A version of a month (the latest when `version` is undefined), or null. */
  async get(month: number, version?: number): Promise<ClosedMonth | null> {
    if (version !== undefined) return this.headers.findOne({ _id: `${month}:${version}` });
    const [latest] = await this.headers.find({ month }).sort({ version: -1 }).limit(1).toArray();
    return latest ?? null;
  }

  /** The frozen points of a version, in the order they were frozen. */
  async points(close: ClosedMonth): Promise<AssessedPoint[]> {
    const out: AssessedPoint[] = [];
    const n = historyFields.length;
    for await (const chunk of this.chunks.find({ closeId: close.closeId }).sort({ seq: 1 })) {
      for (const r of chunk.rows) {
        const nums = r.slice(6) as number[];
        out.push({ id: r[0], code: r[1], name: r[2], regionId: r[3], sharing: sharingOf(r[4]), org: r[5], sec: nums.slice(0, n), pending: nums[n] ?? 0 });
      }
    }
    return out;
  }

  /**
   * Freezes a version. Returns the header, or null when that (month, version) exists already (another
   * close won; its chunks stay, ours are removed).
   */
  async freeze(input: FreezeInput): Promise<ClosedMonth | null> {
    const closeId = new Types.ObjectId();
    const { rows, ...meta } = input;
    let seq = 0;
    for (let i = 0; i < rows.length; i += CHUNK) {
      const packed = rows.slice(i, i + CHUNK).map((p): PackedRow => [p.id, p.code, p.name, p.regionId, p.sharing, p.org, ...p.sec, p.pending]);
      await this.chunks.insertOne({ _id: new Types.ObjectId(), closeId, seq: seq++, rows: packed });
    }
    const header: ClosedMonth = { _id: `${input.month}:${input.version}`, closeId, points: rows.length, chunks: seq, ...meta };
    try {
      await this.headers.insertOne(header);
      return header;
    } catch (err) {
      await this.chunks.deleteMany({ closeId });
      if (isDuplicateKey(err)) return null;
      throw err;
    }
  }

  /** Deletes chunks of closes that never got their header (crashed or lost the race), older than `olderThanMs`. */
  async sweep(now: number, olderThanMs = 3_600_000): Promise<number> {
    const named = new Set((await this.headers.distinct('closeId')).map(String));
    const orphans = (await this.chunks.distinct('closeId')).filter((id) => !named.has(String(id)) && id.getTimestamp().getTime() < now - olderThanMs);
    if (orphans.length === 0) return 0;
    const res = await this.chunks.deleteMany({ closeId: { $in: orphans } });
    return res.deletedCount;
  }
}
