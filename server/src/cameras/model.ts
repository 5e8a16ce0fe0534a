import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { probeKinds, sharingValues } from '../contracts/vocabulary';
import { POINTS_COLLECTION, statusDefinition, type StoredStatus } from './read-model';

/**
 * Stored shape of a camera point (collection `cameras`). Region, grid and upstream references are
 * ObjectIds in the store and 24-hex strings in the API. `status` (its one shape: read-model.ts) is written
 * by the monitoring capability directly; registry writes never touch it after the insert.
 *
 * Text search (`q`): `searchText` is the NFKC-lowercased name, address and gbCode joined by newlines;
 * `searchTokens` holds the character bigrams of name and address that contain a CJK character (plus the
 * name's single CJK characters), indexed multikey. A query containing Chinese matches one selective bigram by equality
 * (index-narrowed), all its bigrams with `$all`, and is confirmed by a substring regex on `searchText`:
 * substring search for Chinese without a word segmenter or a text index (which MongoDB does not offer
 * for Chinese either). A 20-digit query is an exact gbCode lookup on the unique index; other ASCII/digit
 * fragments (a serial) are a substring scan.
 */
export interface CameraDoc {
  _id: Types.ObjectId;
  gbCode: string;
  name: string;
  regionId: Types.ObjectId;
  gridId: Types.ObjectId | null;
  address: string;
  location: { lon: number; lat: number } | null;
  /** `host` null: a point not yet connected (未接入), registered but not probed. */
  endpoint: { host: string | null; rtspPort: number; rtspPath: string; httpPort: number | null; onvifPort: number | null };
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
  status: StoredStatus;
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
      host: { type: String, default: null },
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
    status: statusDefinition,
    searchText: { type: String, default: '' },
    searchTokens: { type: [String], default: [] },
    version: { type: Number, required: true, default: 1 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: POINTS_COLLECTION, versionKey: false, minimize: false, suppressReservedKeysWarning: true },
);
cameraSchema.index({ gbCode: 1 }, { unique: true });
cameraSchema.index({ regionId: 1, gbCode: 1 });
cameraSchema.index({ gridId: 1 });
// filter fields are indexed with gbCode (the default sort) behind them: one value's points come out
// already in page order, so a list stops after one page instead of gathering and sorting all of them
// enabled first: on equal standing the embedded planner takes the first index, and disabled points are
// few (a short walk) while enabled ones are nearly all (the first page is found at once)
cameraSchema.index({ enabled: 1, gbCode: 1 });
cameraSchema.index({ vendor: 1, gbCode: 1 });
cameraSchema.index({ 'maintainer.org': 1, gbCode: 1 });
cameraSchema.index({ tags: 1 });
cameraSchema.index({ 'status.state': 1 });
cameraSchema.index({ upstreamId: 1 });
cameraSchema.index({ searchTokens: 1, gbCode: 1 });
cameraSchema.index({ name: 1, _id: 1 });

export function cameraModel(conn: Connection): Model<CameraDoc> {
  return (conn.models.Camera as Model<CameraDoc> | undefined) ?? conn.model<CameraDoc>('Camera', cameraSchema);
}

/**
 * Indexes earlier versions created on `cameras` and this one replaced by compound indexes (mongoose creates
 * the schema's indexes but never removes old ones): each is maintained on every write for nothing, and
 * searchTokens_1 alone holds ~30 entries per point, which nearly doubled the index work of an import. Only
 * these are dropped: an index an operator added by hand is theirs.
 */
const REPLACED_INDEXES = new Set(['vendor_1', 'maintainer.org_1', 'enabled_1', 'searchTokens_1']);

/** Drops the replaced indexes where they still exist. Run at start-up. Returns the names dropped. */
export async function dropStaleCameraIndexes(model: Model<CameraDoc>): Promise<string[]> {
  let existing: Array<{ name?: string }>;
  try {
    existing = await model.collection.indexes();
  } catch (err) {
    if ((err as { codeName?: string }).codeName === 'NamespaceNotFound') return [];
    throw err;
  }
  const dropped: string[] = [];
  for (const ix of existing) {
    if (!ix.name || !REPLACED_INDEXES.has(ix.name)) continue;
    await model.collection.dropIndex(ix.name);
    dropped.push(ix.name);
  }
  return dropped;
}
