import { ObjectId, type Document } from 'mongodb';
import { isConnected, liveProjection, pointsCollection, storeId, type LivePointRow } from '../cameras/read-model';
import { cameraStates, stateCodeOf, type CameraState, type PointCatalog, type StateCode } from '../contracts/live';
import { sharedCodes, sharedLists, SlotTable } from '../lib/columns';
import type { Store } from '../store/connection';
import type { PointEntry, SharingCode } from './hub';

/** What the board shows of a point beside its state (the catalog is built from these, in memory). */
export interface PointAttrs {
  gbCode: string;
  name: string;
  address: string;
  regionId: string;
  /** '' = none. */
  gridId: string;
  vendor: string;
  maintainer: string;
  tags: readonly string[];
  sharing: SharingCode;
  lon: number | null;
  lat: number | null;
  upstream: string;
}

export interface LoadedPoint {
  entry: PointEntry;
  attrs: PointAttrs;
}

/**
 * The attributes of every point as columns (lib/columns.ts): name, address and code as text columns (their
 * characters outside the JS heap: ~90 bytes a point where the strings and their references were ~180),
 * region, grid, vendor, organisation, upstream device and the tags list as codes of the process's
 * dictionaries, coordinates plain doubles (NaN = none). An object per point with its map entry cost ~170
 * bytes a point beside those strings.
 */
export class PointAttrTable {
  private readonly table = new SlotTable();
  private readonly gbCode = this.table.text();
  private readonly name = this.table.text();
  private readonly address = this.table.text();
  private readonly region = this.table.i32();
  private readonly grid = this.table.i32();
  private readonly vendor = this.table.i32();
  private readonly maintainer = this.table.i32();
  private readonly tags = this.table.i32();
  private readonly sharing = this.table.u8();
  private readonly lon = this.table.f64(NaN);
  private readonly lat = this.table.f64(NaN);
  private readonly upstream = this.table.i32();

  get size(): number {
    return this.table.size;
  }

  get(id: string): PointAttrs | undefined {
    const slot = this.table.slot(id);
    if (slot === -1) return undefined;
    const lon = this.lon.get(slot);
    const lat = this.lat.get(slot);
    return {
      gbCode: this.gbCode.get(slot),
      name: this.name.get(slot),
      address: this.address.get(slot),
      regionId: sharedCodes.value(this.region.get(slot)),
      gridId: sharedCodes.value(this.grid.get(slot)),
      vendor: sharedCodes.value(this.vendor.get(slot)),
      maintainer: sharedCodes.value(this.maintainer.get(slot)),
      tags: sharedLists.value(this.tags.get(slot)),
      sharing: this.sharing.get(slot) as SharingCode,
      lon: Number.isNaN(lon) ? null : lon,
      lat: Number.isNaN(lat) ? null : lat,
      upstream: sharedCodes.value(this.upstream.get(slot)),
    };
  }

  set(id: string, a: PointAttrs): void {
    const slot = this.table.add(id);
    this.gbCode.set(slot, a.gbCode);
    this.name.set(slot, a.name);
    this.address.set(slot, a.address);
    this.region.set(slot, sharedCodes.code(a.regionId));
    this.grid.set(slot, sharedCodes.code(a.gridId));
    this.vendor.set(slot, sharedCodes.code(a.vendor));
    this.maintainer.set(slot, sharedCodes.code(a.maintainer));
    this.tags.set(slot, sharedLists.code(a.tags));
    this.sharing.set(slot, a.sharing);
    this.lon.set(slot, a.lon ?? NaN);
    this.lat.set(slot, a.lat ?? NaN);
    this.upstream.set(slot, sharedCodes.code(a.upstream));
  }

  delete(id: string): void {
    const slot = this.table.remove(id);
    if (slot === -1) return;
    // the strings go with the point
    this.gbCode.reset(slot);
    this.name.reset(slot);
    this.address.reset(slot);
  }

  /** Whether the table holds exactly `a` for `id`. */
  same(id: string, a: PointAttrs): boolean {
    const slot = this.table.slot(id);
    if (slot === -1) return false;
    const lon = this.lon.get(slot);
    const lat = this.lat.get(slot);
    return (
      this.gbCode.get(slot) === a.gbCode && this.name.get(slot) === a.name && this.address.get(slot) === a.address &&
      sharedCodes.value(this.region.get(slot)) === a.regionId && sharedCodes.value(this.grid.get(slot)) === a.gridId &&
      sharedCodes.value(this.vendor.get(slot)) === a.vendor && sharedCodes.value(this.maintainer.get(slot)) === a.maintainer &&
      this.sharing.get(slot) === a.sharing && (Number.isNaN(lon) ? null : lon) === a.lon && (Number.isNaN(lat) ? null : lat) === a.lat &&
      sharedCodes.value(this.upstream.get(slot)) === a.upstream && sameList(sharedLists.value(this.tags.get(slot)), a.tags)
    );
  }

  /** Whether both tables hold the same points with the same attributes. */
  sameAs(other: PointAttrTable): boolean {
    if (this.size !== other.size) return false;
    for (const id of other.table.ids()) if (!this.same(id, other.get(id) as PointAttrs)) return false;
    return true;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Reads what live push needs straight from the registry's collections with narrow projections, in one
 * scan at start-up and on reconcile; between those, registry change events keep the copy current. The
 * hot index holds 100,000+ points, and going through mongoose documents would cost ~30× more.
 */
export interface LiveSource {
  points(): Promise<LoadedPoint[]>;
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

/** Converts one stored camera document (or a registry change's camera view) into index entry + attributes. */
export function loadedFromDoc(doc: Document): LoadedPoint | null {
  const id = idString(doc._id ?? doc.id);
  // kept transiently: the index and the attribute table code region, organisation, vendor… (lib/columns.ts)
  const regionId = idString(doc.regionId);
  if (!id || !regionId) return null;
  const status = (doc.status ?? {}) as Document;
  // the confirmed state, as the change feed reports it: a PENDING point is still what it was confirmed as
  const state: unknown = isState(status.confirmed) ? status.confirmed : status.state;
  let st: StateCode = isState(state) ? stateCodeOf[state] : 0;
  // a disabled point without a monitoring status yet is shown as DISABLED, not UNKNOWN
  if (doc.enabled === false && !isState(state)) st = stateCodeOf.DISABLED;
  // an enabled point without an endpoint host is never probed: NOT_CONNECTED whatever its status says
  // (the registry writes UNKNOWN on insert; the engine's NOT_CONNECTED may not be flushed yet)
  if (doc.enabled !== false && doc.endpoint !== undefined && !isConnected(doc.endpoint as LivePointRow['endpoint'])) st = stateCodeOf.NOT_CONNECTED;
  const sharing = sharingCode[str(doc.sharing)] ?? 0;
  const loc = (doc.location ?? null) as Document | null;
  const org = str((doc.maintainer as Document | undefined)?.org);
  return {
    entry: { id, regionId, sharing, org, st, since: unixSeconds(status.since), flap: status.flapping === true },
    attrs: {
      gbCode: str(doc.gbCode),
      name: str(doc.name),
      address: str(doc.address),
      regionId,
      gridId: idString(doc.gridId),
      vendor: str(doc.vendor),
      maintainer: org,
      tags: Array.isArray(doc.tags) ? doc.tags.map((t) => str(t)).filter(Boolean) : [],
      sharing,
      lon: loc ? num(loc.lon) : null,
      lat: loc ? num(loc.lat) : null,
      upstream: idString(doc.upstreamId),
    },
  };
}

/** Registry ids are stored as ObjectIds; anything else is matched as the string it is. */
function byIds(ids: string[]): Document {
  return { _id: { $in: ids.map(storeId) } };
}

export function storeSource(store: Store): LiveSource {
  const col = (name: string) => {
    const db = store.conn.db;
    if (!db) throw new Error('store is not connected');
    return db.collection(name);
  };
  return {
    async points() {
      const out: LoadedPoint[] = [];
      // modest batches: the embedded store runs in this process and answers each batch in one go
      for await (const doc of pointsCollection(store.conn).find<LivePointRow>({}, { projection: liveProjection, batchSize: 1000 })) {
        const p = loadedFromDoc(doc);
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
  };
}

/** The column-wise catalog of the given points (in that order), from the in-memory attributes. */
export function buildCatalog(regionId: string, ids: string[], attrs: { get(id: string): PointAttrs | undefined }): PointCatalog {
  const cat: PointCatalog = {
    regionId,
    ids: [],
    gbCode: [],
    name: [],
    address: [],
    region: [],
    grid: [],
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
  const code = (kind: keyof typeof dicts, value: string, keepEmpty = false): number => {
    if (!value && !keepEmpty) return -1;
    let i = dicts[kind].get(value);
    if (i === undefined) {
      i = cat.dict[kind].length;
      cat.dict[kind].push(value);
      dicts[kind].set(value, i);
    }
    return i;
  };
  for (const id of ids) {
    const a = attrs.get(id);
    if (!a) continue;
    cat.ids.push(id);
    cat.gbCode.push(a.gbCode);
    cat.name.push(a.name);
    cat.address.push(a.address);
    cat.region.push(code('regions', a.regionId, true));
    cat.grid.push(a.gridId ? code('regions', a.gridId, true) : -1);
    cat.vendor.push(code('vendors', a.vendor));
    cat.maintainer.push(code('maintainers', a.maintainer));
    cat.tags.push(a.tags.map((t) => code('tags', t)));
    cat.sharing.push(a.sharing);
    cat.lon.push(a.lon);
    cat.lat.push(a.lat);
    cat.upstream.push(a.upstream);
  }
  return cat;
}
