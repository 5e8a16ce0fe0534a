import type { Connection } from 'mongoose';
import { pointsCollection } from '../../cameras/read-model';
import type { CameraChange } from '../../cameras/events';
import { sharingValues, type Sharing } from '../../contracts/vocabulary';
import { sharedCodes, sharedLists, SlotGroups, SlotTable } from '../../lib/columns';
import type { AlertPoint } from './engine';

const idOf = (v: { toString(): string } | string | null | undefined): string | null => (v === null || v === undefined ? null : v.toString());
/** A stored sharing value, 'own' (the narrowest) when unknown. */
export const sharingOf = (v: unknown): Sharing => ((sharingValues as readonly unknown[]).includes(v) ? (v as Sharing) : 'own');

/**
 * What alerting knows of every point (name, code, region, upstream device, organisation, sharing, tags),
 * read once and kept current from the registry's change events, with the reverse upstream links.
 *
 * Kept as columns (lib/columns.ts): a slot per point, name and code as text columns (outside the JS heap), region, grid,
 * organisation and tags list codes of the process's dictionaries, and the points below each upstream device
 * a list through the slots (which is also where a point's upstream device is kept). `get` builds the
 * point's object when asked (short-lived; an object per point kept cost ~130 bytes a point more).
 */
export class AlertPoints {
  private readonly table = new SlotTable();
  private readonly name = this.table.text();
  private readonly gbCode = this.table.text();
  private readonly region = this.table.i32(-1);
  /** -1: none. */
  private readonly grid = this.table.i32(-1);
  private readonly org = this.table.i32(-1);
  private readonly sharing = this.table.u8();
  private readonly tags = this.table.i32();
  /** The points below each upstream device, grouped by the device's id code (a point's group is its upstream). */
  private readonly below = new SlotGroups(this.table);
  private readonly empty: readonly string[] = [];

  async load(conn: Connection): Promise<void> {
    // batches of a bounded size: a store answering a getMore with the whole rest of a large registry goes past
    // the 16 MB a reply may hold (the embedded store did at 100,000 points)
    const cursor = pointsCollection(conn).find({}, { projection: { name: 1, gbCode: 1, regionId: 1, gridId: 1, upstreamId: 1, 'maintainer.org': 1, sharing: 1, tags: 1 }, batchSize: 5000 });
    for await (const d of cursor) {
      const id = idOf(d._id);
      const regionId = idOf(d.regionId);
      if (!id || !regionId) continue;
      this.set({
        id,
        name: d.name ?? '',
        gbCode: d.gbCode ?? '',
        regionId,
        gridId: idOf(d.gridId),
        upstreamId: idOf(d.upstreamId),
        org: d.maintainer?.org ?? '',
        sharing: sharingOf(d.sharing),
        tags: Array.isArray(d.tags) ? d.tags : [],
      });
    }
  }

  /** Applies a registry change; returns true when the point is gone. */
  apply(c: CameraChange): boolean {
    if (c.kind === 'delete' || !c.camera) {
      this.remove(c.id);
      return true;
    }
    const cam = c.camera;
    this.set({ id: cam.id, name: cam.name, gbCode: cam.gbCode, regionId: cam.regionId, gridId: cam.gridId, upstreamId: cam.upstreamId, org: cam.maintainer.org, sharing: cam.sharing, tags: cam.tags });
    return false;
  }

  get(id: string): AlertPoint | undefined {
    const slot = this.table.slot(id);
    if (slot === -1) return undefined;
    const grid = this.grid.get(slot);
    const upstream = this.below.group(slot);
    return {
      id: this.table.id(slot) as string,
      name: this.name.get(slot),
      gbCode: this.gbCode.get(slot),
      regionId: sharedCodes.value(this.region.get(slot)),
      gridId: grid === -1 ? null : sharedCodes.value(grid),
      upstreamId: upstream === -1 ? null : sharedCodes.value(upstream),
      org: sharedCodes.value(this.org.get(slot)),
      sharing: sharingValues[this.sharing.get(slot)],
      tags: sharedLists.value(this.tags.get(slot)),
    };
  }

  /** The ids held now, each made when a pass reaches it (a pass over a million points yields to the loop in slices). */
  ids(): Iterable<string> {
    return this.table.idsSnapshot();
  }

  get size(): number {
    return this.table.size;
  }

  dependants(id: string): readonly string[] {
    const code = sharedCodes.find(id);
    if (code === -1 || this.below.size(code) === 0) return this.empty;
    const out: string[] = [];
    this.below.forEach(code, (slot) => out.push(this.table.id(slot) as string));
    return out;
  }

  private set(p: AlertPoint): void {
    const slot = this.table.add(p.id);
    this.name.set(slot, p.name);
    this.gbCode.set(slot, p.gbCode);
    this.region.set(slot, sharedCodes.code(p.regionId));
    this.grid.set(slot, p.gridId === null ? -1 : sharedCodes.code(p.gridId));
    this.org.set(slot, sharedCodes.code(p.org));
    this.sharing.set(slot, Math.max(0, sharingValues.indexOf(p.sharing)));
    this.tags.set(slot, sharedLists.code(p.tags));
    const upstream = p.upstreamId ? sharedCodes.code(p.upstreamId) : -1;
    if (upstream === -1) this.below.remove(slot);
    else if (this.below.group(slot) !== upstream) this.below.add(slot, upstream);
  }

  private remove(id: string): void {
    const slot = this.table.remove(id);
    if (slot === -1) return;
    this.below.remove(slot);
    this.name.reset(slot);
    this.gbCode.reset(slot);
  }
}
