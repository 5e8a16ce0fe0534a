import { ObjectId, type Document } from 'mongodb';
import { cameraStates, stateCodeOf, type CameraState, type PointCatalog, type StateCode } from '../contracts/live';
import type { Store } from '../store/connection';
import type { PointEntry, SharingCode } from './hub';
import type { RegionRecord } from './region-tree';

/**
 * Reads what live push needs straight from the registry's collections with narrow projections: the hot
 * index holds 100,000+ points, and going through mongoose documents would cost ~30× more.
 */
export interface LiveSource {
  regions(): Promise<RegionRecord[]>;
  points(): Promise<PointEntry[]>;
  catalog(regionId: string, ids: string[]): Promise<PointCatalog>;
  /** GeoJSON geometries of the given regions that have a boundary. */
  boundaries(regionIds: string[]): Promise<Array<{ id: string; geometry: unknown }>>;
}

const sharingCode: Record<string, SharingCode> = { own: 0, up: 1, all: 2 };

function idString(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (v instanceof ObjectId) return v.toHexString();
  // bson ObjectId from another copy of the bson package is not `instanceof` ours
  if (typeof v === 'object' && typeof (v as { toHexString?: unknown }).toHexString === 'function') return (v as { toHexString(): string }).toHexString();
  return '';
}

function unixSeconds(v: unknown): number {
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return Math.floor(v > 1e11 ? v / 1000 : v);
  return 0;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function isState(v: unknown): v is CameraState {
  return typeof v === 'string' && (cameraStates as readonly string[]).includes(v);
}

/** Converts one stored camera document (projection) into the hot index entry. */
export function pointFromDoc(doc: Document): PointEntry | null {
  const id = idString(doc._id);
  const regionId = idString(doc.regionId);
  if (!id || !regionId) return null;
  const status = (doc.status ?? {}) as Document;
  let st: StateCode = isState(status.state) ? stateCodeOf[status.state] : 0;
  // a disabled point without a monitoring status yet is shown as DISABLED, not UNKNOWN
  if (doc.enabled === false && !isState(status.state)) st = stateCodeOf.DISABLED;
  return {
    id,
    regionId,
    sharing: sharingCode[str(doc.sharing)] ?? 0,
    st,
    since: unixSeconds(status.since),
    flap: status.flapping === true,
  };
}

/** Registry ids may be stored as ObjectId or as string: match both. */
function byIds(ids: string[]): Document {
  const out: Array<string | ObjectId> = [...ids];
  for (const id of ids) if (/^[0-9a-f]{24}$/.test(id)) out.push(new ObjectId(id));
  return { _id: { $in: out } };
}

export function storeSource(store: Store): LiveSource {
  const col = (name: string) => {
    const db = store.conn.db;
    if (!db) throw new Error('store is not connected');
    return db.collection(name);
  };
  return {
    async regions() {
      const docs = await col('regions').find({}, { projection: { _id: 1, parentId: 1, name: 1, tier: 1 } }).toArray();
      return docs.map((d) => ({ id: idString(d._id), parentId: idString(d.parentId) || null, name: str(d.name), tier: str(d.tier) }));
    },
    async points() {
      const out: PointEntry[] = [];
      const cursor = col('cameras').find(
        {},
        { projection: { _id: 1, regionId: 1, sharing: 1, enabled: 1, 'status.state': 1, 'status.since': 1, 'status.flapping': 1 }, batchSize: 5000 },
      );
      for await (const doc of cursor) {
        const p = pointFromDoc(doc);
        if (p) out.push(p);
      }
      return out;
    },
    async boundaries(regionIds) {
      const out: Array<{ id: string; geometry: unknown }> = [];
      for (let i = 0; i < regionIds.length; i += 2000) {
        const chunk = regionIds.slice(i, i + 2000);
        const docs = await col('regions').find(byIds(chunk), { projection: { _id: 1, boundary: 1 } }).toArray();
        for (const d of docs) {
          const g = d.boundary as Document | null | undefined;
          if (g && typeof g === 'object' && typeof g.type === 'string') out.push({ id: idString(d._id), geometry: g });
        }
      }
      return out;
    },
    async catalog(regionId, ids) {
      const cat: PointCatalog = {
        regionId,
        ids: [],
        gbCode: [],
        name: [],
        address: [],
        region: [],
        vendor: [],
        maintainer: [],
        tags: [],
        sharing: [],
        lon: [],
        lat: [],
        upstream: [],
        dict: { regions: [], vendors: [], maintainers: [], tags: [] },
      };
      const dicts = { regions: new Map<string, number>(), vendors: new Map<string, number>(), maintainers: new Map<string, number>(), tags: new Map<string, number>() };
      const code = (kind: keyof typeof dicts, value: string): number => {
        if (!value) return -1;
        let i = dicts[kind].get(value);
        if (i === undefined) {
          i = cat.dict[kind].length;
          cat.dict[kind].push(value);
          dicts[kind].set(value, i);
        }
        return i;
      };
      const regionIndex = new Map<string, number>();
      const projection = { _id: 1, gbCode: 1, name: 1, address: 1, regionId: 1, vendor: 1, 'maintainer.org': 1, tags: 1, sharing: 1, location: 1, upstreamId: 1 };
      // chunks keep each $in bounded; order follows the hot index so the client can zip with the snapshot
      for (let i = 0; i < ids.length; i += 5000) {
        const chunk = ids.slice(i, i + 5000);
        const docs = await col('cameras').find(byIds(chunk), { projection }).toArray();
        const byId = new Map(docs.map((d) => [idString(d._id), d]));
        for (const id of chunk) {
          const d = byId.get(id);
          if (!d) continue;
          const rid = idString(d.regionId);
          let ri = regionIndex.get(rid);
          if (ri === undefined) {
            ri = cat.dict.regions.length;
            cat.dict.regions.push(rid);
            regionIndex.set(rid, ri);
          }
          const loc = (d.location ?? null) as Document | null;
          cat.ids.push(id);
          cat.gbCode.push(str(d.gbCode));
          cat.name.push(str(d.name));
          cat.address.push(str(d.address));
          cat.region.push(ri);
          cat.vendor.push(code('vendors', str(d.vendor)));
          cat.maintainer.push(code('maintainers', str((d.maintainer as Document | undefined)?.org)));
          cat.tags.push(Array.isArray(d.tags) ? d.tags.map((t) => code('tags', str(t))).filter((x) => x >= 0) : []);
          cat.sharing.push(sharingCode[str(d.sharing)] ?? 0);
          cat.lon.push(loc ? num(loc.lon) : null);
          cat.lat.push(loc ? num(loc.lat) : null);
          cat.upstream.push(idString(d.upstreamId));
        }
      }
      return cat;
    },
  };
}
