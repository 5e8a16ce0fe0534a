import type { Connection } from 'mongoose';
import { pointsCollection } from '../../cameras/read-model';
import type { CameraChange } from '../../cameras/events';
import { sharingValues, type Sharing } from '../../contracts/vocabulary';
import { interned } from '../../lib/intern';
import type { AlertPoint } from './engine';

const idOf = (v: { toString(): string } | string | null | undefined): string | null => (v === null || v === undefined ? null : v.toString());
/** A stored sharing value, 'own' (the narrowest) when unknown. */
export const sharingOf = (v: unknown): Sharing => ((sharingValues as readonly unknown[]).includes(v) ? (v as Sharing) : 'own');

/**
 * What alerting knows of every point (name, code, region, upstream device, organisation, sharing, tags),
 * read once and kept current from the registry's change events, with the reverse upstream links.
 */
export class AlertPoints {
  private readonly byId = new Map<string, AlertPoint>();
  private readonly deps = new Map<string, Set<string>>();
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
    return this.byId.get(id);
  }

  ids(): IterableIterator<string> {
    return this.byId.keys();
  }

  dependants(id: string): readonly string[] {
    const s = this.deps.get(id);
    return s ? [...s] : this.empty;
  }

  private set(given: AlertPoint): void {
    // values a district shares among many points are kept once (lib/intern.ts): this map holds every point
    const p: AlertPoint = {
      ...given,
      regionId: interned.str(given.regionId),
      gridId: given.gridId === null ? null : interned.str(given.gridId),
      upstreamId: given.upstreamId === null ? null : interned.str(given.upstreamId),
      org: interned.str(given.org),
      tags: interned.list(given.tags),
    };
    const old = this.byId.get(p.id);
    if (old?.upstreamId && old.upstreamId !== p.upstreamId) this.deps.get(old.upstreamId)?.delete(p.id);
    this.byId.set(p.id, p);
    if (p.upstreamId) {
      let s = this.deps.get(p.upstreamId);
      if (!s) this.deps.set(p.upstreamId, (s = new Set()));
      s.add(p.id);
    }
  }

  private remove(id: string): void {
    const old = this.byId.get(id);
    if (old?.upstreamId) this.deps.get(old.upstreamId)?.delete(id);
    this.byId.delete(id);
  }
}
