import { createHash } from 'node:crypto';
import type { Connection } from 'mongoose';
import type { PointRef } from '../auth/scope';
import type { CameraChange } from '../cameras/events';
import { pointsCollection } from '../cameras/read-model';
import { classOfGbCode, type PointClass } from '../contracts/reports';
import { sharingValues, type Sharing } from '../contracts/vocabulary';

/**
 * What the online-rate sums are keyed by: the inputs of the one visibility rule (region, sharing, maintainer
 * organisation: auth/scope.ts reads nothing else of a point) and the classification of the targets. Every
 * caller's visible set is therefore a union of groups.
 */
export interface GroupRef extends PointRef {
  /** The grid the point lies in ('' = none): where it is counted below its region (a grid is never a point's region). */
  gridId: string;
  cls: PointClass;
}

export const groupKeyOf = (g: GroupRef): string => `${g.regionId}|${g.gridId}|${g.sharing}|${g.cls}|${g.org}`;

export function groupOfKey(key: string): GroupRef {
  const [regionId, gridId, sharing, cls, ...org] = key.split('|');
  return { regionId, gridId, sharing: sharing as Sharing, cls: cls as PointClass, org: org.join('|') };
}

export interface IndexedPoint {
  id: string;
  group: string;
  /** GB/T 28181 device type (digits 11–13). */
  type: string;
  name: string;
}

/**
 * Every registry point's group, in memory (a few dozen bytes a point), loaded once and kept current by the
 * registry's change events. It also remembers, per change, the group a point had before, so sums built at an
 * earlier `epoch` can be corrected for the points that moved since (`changedSince`, `groupAt`).
 */
export class PointIndex {
  private readonly points = new Map<string, IndexedPoint>();
  private log: Array<{ epoch: number; id: string; before: string | null }> = [];
  /** The same changes per point, oldest first. */
  private readonly logOf = new Map<string, Array<{ epoch: number; before: string | null }>>();
  /** Ids changed by events while the initial load ran (the load must not overwrite them). */
  private touched: Set<string> | null = null;
  private counts: Map<string, number> | null = null;
  epoch = 0;
  loaded = false;

  constructor(private readonly keyPublicIndustries: readonly string[]) {}

  get size(): number {
    return this.points.size;
  }

  get(id: string): IndexedPoint | undefined {
    return this.points.get(id);
  }

  values(): IterableIterator<IndexedPoint> {
    return this.points.values();
  }

  private entry(id: string, c: { regionId: string; gridId?: string | null; sharing?: string; org?: string; gbCode?: string; name?: string }): IndexedPoint {
    const gbCode = c.gbCode ?? '';
    const sharing = (sharingValues as readonly string[]).includes(c.sharing ?? '') ? (c.sharing as Sharing) : 'own';
    const group = groupKeyOf({ regionId: c.regionId, gridId: c.gridId ?? '', sharing, org: c.org ?? '', cls: classOfGbCode(gbCode, this.keyPublicIndustries) });
    return { id, group, type: gbCode.slice(10, 13), name: c.name ?? '' };
  }

  /** Reads every point's group from the registry (events arriving meanwhile win). */
  async load(conn: Connection): Promise<void> {
    this.touched = new Set();
    const cursor = pointsCollection(conn).find({}, { projection: { _id: 1, regionId: 1, gridId: 1, sharing: 1, 'maintainer.org': 1, gbCode: 1, name: 1 }, batchSize: 5000 });
    for await (const p of cursor) {
      const id = String(p._id);
      if (this.touched.has(id)) continue;
      this.points.set(id, this.entry(id, { regionId: String(p.regionId), gridId: p.gridId ? String(p.gridId) : null, sharing: p.sharing, org: p.maintainer?.org, gbCode: p.gbCode, name: p.name }));
    }
    this.touched = null;
    this.counts = null;
    this.loaded = true;
  }

  /** Points per group now (kept until the next change: a report counts rows per group, not per point). */
  groupCounts(): ReadonlyMap<string, number> {
    if (this.counts) return this.counts;
    const out = new Map<string, number>();
    for (const p of this.points.values()) out.set(p.group, (out.get(p.group) ?? 0) + 1);
    this.counts = out;
    return out;
  }

  /** A registry change (CameraService.onChange). */
  apply(c: CameraChange): void {
    this.counts = null;
    this.touched?.add(c.id);
    const before = this.points.get(c.id)?.group ?? null;
    if (c.kind === 'delete' || !c.camera) {
      this.points.delete(c.id);
    } else {
      const cam = c.camera;
      this.points.set(c.id, this.entry(c.id, { regionId: cam.regionId, gridId: cam.gridId, sharing: cam.sharing, org: cam.maintainer.org, gbCode: cam.gbCode, name: cam.name }));
    }
    const after = this.points.get(c.id)?.group ?? null;
    if (before === after) return;
    const e = { epoch: ++this.epoch, before };
    this.log.push({ ...e, id: c.id });
    const list = this.logOf.get(c.id);
    if (list) list.push(e);
    else this.logOf.set(c.id, [e]);
  }

  /** Points whose group changed (or that appeared or went) after `epoch`. */
  changedSince(epoch: number): Set<string> {
    const out = new Set<string>();
    for (let i = this.log.length - 1; i >= 0 && this.log[i].epoch > epoch; i--) out.add(this.log[i].id);
    return out;
  }

  /** The group a point had at `epoch` (null: it did not exist). */
  groupAt(id: string, epoch: number): string | null {
    for (const e of this.logOf.get(id) ?? []) if (e.epoch > epoch) return e.before;
    return this.points.get(id)?.group ?? null;
  }

  /** Every point that existed at `epoch`, with its group then. */
  *membersAt(epoch: number): Generator<[string, string]> {
    const changed = this.changedSince(epoch);
    for (const p of this.points.values()) if (!changed.has(p.id)) yield [p.id, p.group];
    for (const id of changed) {
      const g = this.groupAt(id, epoch);
      if (g !== null) yield [id, g];
    }
  }

  /** Forgets changes up to `epoch` (no sums older than it are in use). */
  forgetUpTo(epoch: number): void {
    this.log = this.log.filter((e) => e.epoch > epoch);
    for (const [id, list] of this.logOf) {
      const keep = list.filter((e) => e.epoch > epoch);
      if (keep.length) this.logOf.set(id, keep);
      else this.logOf.delete(id);
    }
  }

  /** A digest of every point's group at `epoch` (sums built then stay valid across a restart iff it is unchanged). */
  digestAt(epoch: number): string {
    const lines: string[] = [];
    for (const [id, g] of this.membersAt(epoch)) lines.push(`${id}=${g}`);
    lines.sort();
    const h = createHash('sha256');
    for (const l of lines) h.update(l).update('\n');
    return h.digest('hex');
  }
}
