import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { cameraStates, probeKinds, sharingValues } from './schema';

/**
 * Stored shape of a camera point (collection `cameras`). Region, grid and upstream references are
 * ObjectIds in the store and 24-hex strings in the API. `status` is written by the monitoring capability
 * directly (`status.state`, `status.since`, …); registry writes never touch it after the insert.
 *
 * Text search (`q`): `searchText` is the NFKC-lowercased name, address and gbCode joined by newlines;
 * `searchTokens` holds its character bigrams (plus single CJK characters), indexed multikey. A query
 * matches `searchTokens: { $all: bigrams(q) }` (index-narrowed, works for Chinese without a word
 * segmenter) and is then confirmed by a substring regex on `searchText`. A 20-digit query is an exact
 * gbCode lookup on the unique index.
 */
export interface CameraDoc {
  _id: Types.ObjectId;
  gbCode: string;
  name: string;
  regionId: Types.ObjectId;
  gridId: Types.ObjectId | null;
  address: string;
  location: { lon: number; lat: number } | null;
  endpoint: { host: string; rtspPort: number; rtspPath: string; httpPort: number | null; onvifPort: number | null };
  probe: { kind: (typeof probeKinds)[number]; intervalSec: number; timeoutMs: number; retries: number };
  vendor: string;
  model: string;
  ownerUnit: string;
  maintainer: { org: string; contact: string; phone: string };
  sharing: (typeof sharingValues)[number];
  upstreamId: Types.ObjectId | null;
  tags: string[];
  enabled: boolean;
  installedAt: Date | null;
  note: string;
  gb: { center: string; industry: string; industryName: string; type: string; typeName: string; network: string; networkName: string; serial: string };
  status: { state: (typeof cameraStates)[number]; since: Date | null; lastCheckAt: Date | null; rttMs: number | null; flapping: boolean; reason: string | null };
  searchText: string;
  searchTokens: string[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const cameraSchema = new Schema<CameraDoc>(
  {
    gbCode: { type: String, required: true },
    name: { type: String, required: true },
    regionId: { type: Schema.Types.ObjectId, required: true },
    gridId: { type: Schema.Types.ObjectId, default: null },
    address: { type: String, default: '' },
    location: { type: new Schema({ lon: Number, lat: Number }, { _id: false }), default: null },
    endpoint: {
      host: { type: String, required: true },
      rtspPort: { type: Number, default: 554 },
      rtspPath: { type: String, default: '' },
      httpPort: { type: Number, default: null },
      onvifPort: { type: Number, default: null },
    },
    probe: {
      kind: { type: String, enum: probeKinds, required: true },
      intervalSec: { type: Number, required: true },
      timeoutMs: { type: Number, required: true },
      retries: { type: Number, required: true },
    },
    vendor: { type: String, default: '' },
    model: { type: String, default: '' },
    ownerUnit: { type: String, default: '' },
    maintainer: { org: { type: String, default: '' }, contact: { type: String, default: '' }, phone: { type: String, default: '' } },
    sharing: { type: String, enum: sharingValues, default: 'own' },
    upstreamId: { type: Schema.Types.ObjectId, default: null },
    tags: { type: [String], default: [] },
    enabled: { type: Boolean, default: true },
    installedAt: { type: Date, default: null },
    note: { type: String, default: '' },
    gb: {
      center: String,
      industry: String,
      industryName: String,
      type: { type: String },
      typeName: String,
      network: String,
      networkName: String,
      serial: String,
    },
    status: {
      state: { type: String, enum: cameraStates, default: 'UNKNOWN' },
      since: { type: Date, default: null },
      lastCheckAt: { type: Date, default: null },
      rttMs: { type: Number, default: null },
      flapping: { type: Boolean, default: false },
      reason: { type: String, default: null },
    },
    searchText: { type: String, default: '' },
    searchTokens: { type: [String], default: [] },
    version: { type: Number, required: true, default: 1 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'cameras', versionKey: false, minimize: false, suppressReservedKeysWarning: true },
);
cameraSchema.index({ gbCode: 1 }, { unique: true });
cameraSchema.index({ regionId: 1, gbCode: 1 });
cameraSchema.index({ gridId: 1 });
cameraSchema.index({ vendor: 1 });
cameraSchema.index({ 'maintainer.org': 1 });
cameraSchema.index({ tags: 1 });
cameraSchema.index({ enabled: 1 });
cameraSchema.index({ 'status.state': 1 });
cameraSchema.index({ upstreamId: 1 });
cameraSchema.index({ searchTokens: 1 });
cameraSchema.index({ name: 1, _id: 1 });
cameraSchema.index({ updatedAt: 1, _id: 1 });

export function cameraModel(conn: Connection): Model<CameraDoc> {
  return (conn.models.Camera as Model<CameraDoc> | undefined) ?? conn.model<CameraDoc>('Camera', cameraSchema);
}

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;

export function normaliseSearch(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/\s+/g, '');
}

function addTokens(out: Set<string>, s: string): void {
  const chars = [...s];
  for (let i = 0; i < chars.length; i++) {
    if (CJK.test(chars[i])) out.add(chars[i]);
    if (i + 1 < chars.length) out.add(chars[i] + chars[i + 1]);
  }
}

export function searchFieldsOf(p: { name: string; address: string; gbCode: string }): { searchText: string; searchTokens: string[] } {
  const parts = [normaliseSearch(p.name), normaliseSearch(p.address), p.gbCode];
  const tokens = new Set<string>();
  for (const part of parts) addTokens(tokens, part);
  return { searchText: parts.join('\n'), searchTokens: [...tokens] };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The store filter for a free-text query (see the model comment). Null when the query is empty. */
export function searchFilter(q: string): Record<string, unknown> | null {
  const n = normaliseSearch(q);
  if (!n) return null;
  if (/^\d{20}$/.test(n)) return { gbCode: n };
  const chars = [...n];
  const tokens = new Set<string>();
  if (chars.length === 1) {
    if (CJK.test(chars[0])) tokens.add(chars[0]);
  } else {
    for (let i = 0; i + 1 < chars.length; i++) tokens.add(chars[i] + chars[i + 1]);
  }
  const filter: Record<string, unknown> = { searchText: { $regex: escapeRegex(n) } };
  // a handful of bigrams narrows enough; the regex decides
  if (tokens.size) filter.searchTokens = { $all: [...tokens].slice(0, 6) };
  return filter;
}
