import { createHash } from 'node:crypto';
import type { Connection } from 'mongoose';
import type { PointRef } from '../auth/scope';
import type { CameraChange } from '../cameras/events';
import { pointsCollection } from '../cameras/read-model';
import { classOfGbCode, type PointClass } from '../contracts/reports';
import { sharingValues, type Sharing } from '../contracts/vocabulary';
import { Dictionary, SlotTable } from '../lib/columns';

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
}

/**
 * Every registry point's group, in memory (a few dozen bytes a point), loaded once and kept current by the
 * registry's change events. It also remembers, per change, the group a point had before, so sums built at an
 * earlier `epoch` can be corrected for the points that moved since (`changedSince`, `groupAt`).
 */
export class PointIndex {
  /**
   * Each point's group as a column (lib/columns.ts): a slot per point and the code of its group key (a
   * district has a few hundred groups). Nothing else of a point is read from here.
   */
  private readonly table = new SlotTable();
  private readonly groupOf = this.table.i32(-1);
  private readonly groups = new Dictionary();
  /**
   * The changes, oldest first, as parallel columns (an import logs one per point it creates: an object per
   * entry and a list per point cost ~400 bytes each, these ~60): its epoch, point, group before (null: it did
   * not exist) and the index of the point's previous entry (-1: none).
   */
  private logEpoch: number[] = [];
  private logId: string[] = [];
  private logBefore: Array<string | null> = [];
  private logPrev: number[] = [];
  /** Index of each point's newest entry. */
  private lastOf = new Map<string, number>();
  /**
   * A point's creation is not a log entry but the epoch it was created at, in a column (8 bytes against
   * ~100 for an entry: an import creates a million points). 0: created before anything kept (or while nothing
   * was), or an id that had a life before (its creation is then a log entry, as any change).
   */
  private readonly bornAt = this.table.f64(0);
  /** The creation epoch of points deleted since, while a build may still ask about it. */
  private bornOfGone = new Map<string, number>();
  /** Creations up to this epoch are forgotten (as the log's entries are). */
  private bornFloor = 0;
  /** The newest creation epoch in the column (a scan for creations after an epoch is skipped below it). */
  private lastBorn = 0;
  /** Ids changed by events while the initial load ran (the load must not overwrite them). */
  private touched: Set<string> | null = null;
  private counts: Map<string, number> | null = null;
  /**
   * Changes after this epoch are logged; null: none (no sums counted under earlier groups are in use, so
   * nothing needs them, and an import would otherwise leave one entry per point it created).
   */
  private keepSince: number | null = 0;
  epoch = 0;
  loaded = false;

  constructor(private readonly keyPublicIndustries: readonly string[]) {}

  get size(): number {
    return this.table.size;
  }

  get(id: string): IndexedPoint | undefined {
    const slot = this.table.slot(id);
    return slot === -1 ? undefined : { id, group: this.groups.value(this.groupOf.get(slot)) };
  }

  *values(): Generator<IndexedPoint> {
    for (const [id, slot] of this.table.entries()) yield { id, group: this.groups.value(this.groupOf.get(slot)) };
  }

  /** The point's group now (null: no such point). */
  private groupNow(id: string): string | null {
    const slot = this.table.slot(id);
    return slot === -1 ? null : this.groups.value(this.groupOf.get(slot));
  }

  private put(id: string, c: { regionId: string; gridId?: string | null; sharing?: string; org?: string; gbCode?: string }): void {
    const gbCode = c.gbCode ?? '';
    const sharing = (sharingValues as readonly string[]).includes(c.sharing ?? '') ? (c.sharing as Sharing) : 'own';
    const group = groupKeyOf({ regionId: c.regionId, gridId: c.gridId ?? '', sharing, org: c.org ?? '', cls: classOfGbCode(gbCode, this.keyPublicIndustries) });
    this.groupOf.set(this.table.add(id), this.groups.code(group));
  }

  /** Reads every point's group from the registry (events arriving meanwhile win). */
  async load(conn: Connection): Promise<void> {
    this.touched = new Set();
    const cursor = pointsCollection(conn).find({}, { projection: { _id: 1, regionId: 1, gridId: 1, sharing: 1, 'maintainer.org': 1, gbCode: 1 }, batchSize: 5000 });
    for await (const p of cursor) {
      const id = String(p._id);
      if (this.touched.has(id)) continue;
      this.put(id, { regionId: String(p.regionId), gridId: p.gridId ? String(p.gridId) : null, sharing: p.sharing, org: p.maintainer?.org, gbCode: p.gbCode });
    }
    this.touched = null;
    this.counts = null;
    this.loaded = true;
  }

  /** Points per group now (kept until the next change: a report counts rows per group, not per point). */
  groupCounts(): ReadonlyMap<string, number> {
    if (this.counts) return this.counts;
    const perCode = new Map<number, number>();
    for (const slot of this.table.slots()) {
      const g = this.groupOf.get(slot);
      perCode.set(g, (perCode.get(g) ?? 0) + 1);
    }
    const out = new Map<string, number>();
    for (const [g, n] of perCode) out.set(this.groups.value(g), n);
    this.counts = out;
    return out;
  }

  /** A registry change (CameraService.onChange). */
  apply(c: CameraChange): void {
    this.counts = null;
    this.touched?.add(c.id);
    const before = this.groupNow(c.id);
    const born = this.bornOf(c.id);
    if (c.kind === 'delete' || !c.camera) {
      this.table.remove(c.id);
    } else {
      const cam = c.camera;
      this.put(c.id, { regionId: cam.regionId, gridId: cam.gridId, sharing: cam.sharing, org: cam.maintainer.org, gbCode: cam.gbCode });
    }
    const after = this.groupNow(c.id);
    if (before === after) return;
    // the epoch moves on either way: it versions the groups (SumsStore's digest)
    const epoch = ++this.epoch;
    if (before === null) {
      // created: an id without a past is its birth epoch alone, one that had a life before is logged
      const fresh = !this.lastOf.has(c.id) && !this.bornOfGone.has(c.id);
      this.bornAt.set(this.table.slot(c.id), fresh && this.keepSince !== null ? epoch : 0);
      if (fresh) {
        if (this.keepSince !== null) this.lastBorn = epoch;
        return;
      }
    }
    if (this.keepSince === null) return;
    if (after === null && born > this.bornFloor && !this.bornOfGone.has(c.id)) this.bornOfGone.set(c.id, born);
    const i = this.logEpoch.length;
    this.logEpoch.push(epoch);
    this.logId.push(c.id);
    this.logBefore.push(before);
    this.logPrev.push(this.lastOf.get(c.id) ?? -1);
    this.lastOf.set(c.id, i);
  }

  /** The epoch a point was created at as far as kept changes tell (0: before them). */
  private bornOf(id: string): number {
    const gone = this.bornOfGone.get(id);
    if (gone !== undefined) return gone;
    const slot = this.table.slot(id);
    return slot === -1 ? 0 : this.bornAt.get(slot);
  }

  /** Points whose group changed (or that appeared or went) after `epoch`. */
  changedSince(epoch: number): Set<string> {
    const out = new Set<string>();
    for (let i = this.logEpoch.length - 1; i >= 0 && this.logEpoch[i] > epoch; i--) out.add(this.logId[i]);
    const from = Math.max(epoch, this.bornFloor);
    if (this.lastBorn > from) for (const slot of this.table.slots()) if (this.bornAt.get(slot) > from) out.add(this.table.id(slot) as string);
    return out;
  }

  /** The group a point had at `epoch` (null: it did not exist). */
  groupAt(id: string, epoch: number): string | null {
    const born = this.bornOf(id);
    if (born > epoch && born > this.bornFloor) return null;
    // the oldest of the point's entries after `epoch` holds its group then
    let first = -1;
    for (let i = this.lastOf.get(id) ?? -1; i >= 0 && this.logEpoch[i] > epoch; i = this.logPrev[i]) first = i;
    return first >= 0 ? this.logBefore[first] : this.groupNow(id);
  }

  /** Every point that existed at `epoch`, with its group then. */
  *membersAt(epoch: number): Generator<[string, string]> {
    const changed = this.changedSince(epoch);
    for (const [id, slot] of this.table.entries()) if (!changed.has(id)) yield [id, this.groups.value(this.groupOf.get(slot))];
    for (const id of changed) {
      const g = this.groupAt(id, epoch);
      if (g !== null) yield [id, g];
    }
  }

  /**
   * Keeps the changes after `epoch` from now on (the oldest build in use, or one starting now) and forgets
   * older ones; null: keeps none until asked again.
   */
  keepChangesSince(epoch: number | null): void {
    this.keepSince = epoch;
    this.forgetUpTo(epoch ?? Infinity);
    // creations from now on are kept again (none is recorded while nothing is kept)
    this.bornFloor = epoch ?? this.epoch;
  }

  /** Forgets changes up to `epoch` (no sums older than it are in use). */
  forgetUpTo(epoch: number): void {
    this.bornFloor = Math.max(this.bornFloor, epoch);
    for (const [id, born] of this.bornOfGone) if (born <= epoch) this.bornOfGone.delete(id);
    let cut = 0;
    while (cut < this.logEpoch.length && this.logEpoch[cut] <= epoch) cut++;
    if (cut === 0) return;
    this.logEpoch = this.logEpoch.slice(cut);
    this.logId = this.logId.slice(cut);
    this.logBefore = this.logBefore.slice(cut);
    this.logPrev = this.logPrev.slice(cut).map((p) => (p >= cut ? p - cut : -1));
    const lastOf = new Map<string, number>();
    for (const [id, i] of this.lastOf) if (i >= cut) lastOf.set(id, i - cut);
    this.lastOf = lastOf;
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
