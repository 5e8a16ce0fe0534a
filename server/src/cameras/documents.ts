import { ObjectId } from 'bson';
import type { Model, Types } from 'mongoose';
import { isObjectId } from '../contracts/vocabulary';
import { decodeGbCode } from './gbcode';
import type { CameraDoc } from './model';
import { searchFieldsOf } from './search';
import type { Camera } from '../contracts/cameras';
import { applyProbeDefaults, type CameraInput, type CameraInputRaw, type ProbeDefaults } from './schema';

/**
 * Between a stored point (CameraDoc) and its public shape (Camera): the one mapping each way, the one
 * "stored Camera as an input", and the one answer to "does this input change the point?".
 */

export type CameraCollection = Model<CameraDoc>['collection'];
export type Filter = Record<string, unknown>;

/** The fields a registry write owns (everything but _id, status, version and timestamps). */
export type RegistryFields = Omit<CameraDoc, '_id' | 'status' | 'version' | 'createdAt' | 'updatedAt'>;

/** What a registry write sets, before the fields derived from it (gb, search). */
type OwnedDocFields = Omit<RegistryFields, 'gb' | 'searchText' | 'searchTokens'>;

/** The registry-owned fields as the API shows them (gb follows from gbCode). */
type OwnedFields = Omit<Camera, 'id' | 'gb' | 'status' | 'version' | 'createdAt' | 'updatedAt'>;

// bson's ObjectId is mongoose's Types.ObjectId (one class); from bson, the import worker loads no mongoose
export const oid = (s: string): Types.ObjectId => new ObjectId(s);
export const hex = (v: Types.ObjectId | null | undefined): string | null => (v ? v.toHexString() : null);
const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

/** Projection for reads that hand out Camera: the search fields are a third of a point's bytes. */
export const publicProjection = { searchText: 0, searchTokens: 0 } as const;

function ownedFieldsOfDoc(d: OwnedDocFields): OwnedFields {
  return {
    gbCode: d.gbCode,
    name: d.name,
    regionId: d.regionId.toHexString(),
    gridId: hex(d.gridId),
    address: d.address ?? '',
    location: d.location ? { lon: d.location.lon, lat: d.location.lat } : null,
    endpoint: {
      host: d.endpoint.host ?? null,
      rtspPort: d.endpoint.rtspPort,
      rtspPath: d.endpoint.rtspPath ?? '',
      httpPort: d.endpoint.httpPort ?? null,
      onvifPort: d.endpoint.onvifPort ?? null,
    },
    probe: { kind: d.probe.kind, intervalSec: d.probe.intervalSec, timeoutMs: d.probe.timeoutMs, retries: d.probe.retries },
    vendor: d.vendor ?? '',
    model: d.model ?? '',
    ownerUnit: d.ownerUnit ?? '',
    maintainer: { org: d.maintainer?.org ?? '', contact: d.maintainer?.contact ?? '', phone: d.maintainer?.phone ?? '' },
    sharing: d.sharing,
    upstreamId: hex(d.upstreamId),
    tags: d.tags ?? [],
    enabled: d.enabled,
    installedAt: iso(d.installedAt),
    note: d.note ?? '',
  };
}

export function toCamera(d: CameraDoc): Camera {
  return {
    id: d._id.toHexString(),
    ...ownedFieldsOfDoc(d),
    gb: { ...d.gb },
    status: {
      state: d.status?.state ?? 'UNKNOWN',
      since: iso(d.status?.since),
      lastCheckAt: iso(d.status?.lastCheckAt),
      rttMs: d.status?.rttMs ?? null,
      flapping: d.status?.flapping ?? false,
      reason: d.status?.reason ?? null,
    },
    version: d.version,
    createdAt: iso(d.createdAt) as string,
    updatedAt: iso(d.updatedAt) as string,
  };
}

function ownedDocFieldsOf(input: CameraInput, defaults: ProbeDefaults): OwnedDocFields {
  return {
    gbCode: input.gbCode,
    name: input.name,
    regionId: oid(input.regionId),
    gridId: input.gridId ? oid(input.gridId) : null,
    address: input.address,
    location: input.location ? { lon: input.location.lon, lat: input.location.lat } : null,
    endpoint: {
      host: input.endpoint.host,
      rtspPort: input.endpoint.rtspPort,
      rtspPath: input.endpoint.rtspPath,
      httpPort: input.endpoint.httpPort ?? null,
      onvifPort: input.endpoint.onvifPort ?? null,
    },
    probe: applyProbeDefaults(input.probe, defaults),
    vendor: input.vendor,
    model: input.model,
    ownerUnit: input.ownerUnit,
    maintainer: { org: input.maintainer.org, contact: input.maintainer.contact, phone: input.maintainer.phone },
    sharing: input.sharing,
    upstreamId: input.upstreamId ? oid(input.upstreamId) : null,
    tags: input.tags,
    enabled: input.enabled,
    installedAt: input.installedAt ? new Date(input.installedAt) : null,
    note: input.note,
  };
}

/** Everything a registry write of `input` stores (probe defaults applied, gb and search fields derived). */
export function registryFieldsOf(input: CameraInput, defaults: ProbeDefaults): RegistryFields {
  // one object per row (an import builds 100,000 of these): filled in place rather than spread into copies
  return Object.assign(ownedDocFieldsOf(input, defaults), { gb: decodeGbCode(input.gbCode) }, searchFieldsOf(input));
}

/** A new point's document: status follows from `enabled` and whether it has a host (未接入 without). */
export function newDoc(fields: RegistryFields, now: Date, id: Types.ObjectId = new ObjectId()): CameraDoc {
  return {
    _id: id,
    ...fields,
    status: { state: !fields.enabled ? 'DISABLED' : fields.endpoint.host === null ? 'NOT_CONNECTED' : 'UNKNOWN', since: now, lastCheckAt: null, rttMs: null, flapping: false, reason: null },
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
}

/** The point as it reads after an update that wrote `fields` (status and creation untouched). */
export function updatedCamera(cur: Camera, fields: RegistryFields, now: Date): Camera {
  return { ...cur, ...ownedFieldsOfDoc(fields), gb: { ...fields.gb }, version: cur.version + 1, updatedAt: now.toISOString() };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Whether writing `input` would change the registry fields of the `stored` point: the input is taken
 * exactly as a write would store it (probe defaults applied, dates as instants, ids as the store keeps
 * them) and read back, then compared with the point as read. The one "unchanged?" of the registry:
 * PATCH, the bulk upsert and the import's plan all ask it.
 */
export function changesPoint(input: CameraInput, stored: Camera, defaults: ProbeDefaults): boolean {
  const { id: _i, gb: _g, status: _s, version: _v, createdAt: _c, updatedAt: _u, ...owned } = stored;
  return !sameValue(ownedFieldsOfDoc(ownedDocFieldsOf(input, defaults)), owned);
}

/** A stored point in input form: what a patch or an import row merges onto (absent fields keep their values). */
export function cameraAsInput(c: Camera): CameraInputRaw {
  return {
    gbCode: c.gbCode,
    name: c.name,
    regionId: c.regionId,
    gridId: c.gridId,
    address: c.address,
    location: c.location,
    endpoint: {
      host: c.endpoint.host,
      rtspPort: c.endpoint.rtspPort,
      rtspPath: c.endpoint.rtspPath,
      ...(c.endpoint.httpPort !== null ? { httpPort: c.endpoint.httpPort } : {}),
      ...(c.endpoint.onvifPort !== null ? { onvifPort: c.endpoint.onvifPort } : {}),
    },
    probe: { ...c.probe },
    vendor: c.vendor,
    model: c.model,
    ownerUnit: c.ownerUnit,
    maintainer: { ...c.maintainer },
    sharing: c.sharing,
    upstreamId: c.upstreamId,
    tags: [...c.tags],
    enabled: c.enabled,
    installedAt: c.installedAt,
    note: c.note,
  };
}

export async function findDoc(coll: CameraCollection, id: string): Promise<CameraDoc | null> {
  if (!isObjectId(id)) return null;
  return coll.findOne<CameraDoc>({ _id: oid(id) });
}

/** Points by gbCode, one `$in` query per 5,000 codes, keyed by code. */
export async function readByGbCodes(coll: CameraCollection, codes: string[]): Promise<Map<string, Camera>> {
  const out = new Map<string, Camera>();
  const all = [...new Set(codes)];
  for (let i = 0; i < all.length; i += 5000) {
    const docs = await coll.find<CameraDoc>({ gbCode: { $in: all.slice(i, i + 5000) } }, { projection: publicProjection }).toArray();
    for (const d of docs) out.set(d.gbCode, toCamera(d));
  }
  return out;
}

/** Points stored in (or, for grids, assigned to) any of the regions. */
export function inRegions(regionIds: string[]): Filter {
  const ids = regionIds.map(oid);
  return { $or: [{ regionId: { $in: ids } }, { gridId: { $in: ids } }] };
}
