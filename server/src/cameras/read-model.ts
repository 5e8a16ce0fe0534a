import { mongo, type Connection } from 'mongoose';
import { cameraStates, confirmedStates, type CameraState, type ConfirmedState } from '../contracts/live';
import type { probeKinds } from '../contracts/vocabulary';
import { isObjectId } from '../contracts/vocabulary';

/**
 * THE typed read of points: the collection that holds them, the stored shape of `status` (one schema for
 * the registry's mongoose model and the monitoring writes), and the narrow projections the hot readers
 * (monitoring's point mirror, live push's index) use on the native driver. Hot paths keep going through
 * the driver collection (batched bulkWrite, cursors); this module hands out the handle and the row types,
 * so nothing else names the collection or guesses a document's shape.
 */
export const POINTS_COLLECTION = 'cameras';

/**
 * What is stored under `status`: the public fields (the API and the board read these) plus the state
 * machine's own (written by monitoring, restored on restart). Registry writes set only the public fields
 * on insert and never touch `status` after that.
 */
export interface StoredStatus {
  state: CameraState;
  since: Date | null;
  lastCheckAt: Date | null;
  rttMs: number | null;
  flapping: boolean;
  reason: string | null;
  confirmed?: ConfirmedState;
  seq?: number;
  failures?: number;
  successes?: number;
  /** Last ≤ 21 check results as bits, newest in bit 0 (flap detection). */
  hist?: number;
  histLen?: number;
  flapFrom?: ConfirmedState | null;
  maintenance?: boolean;
  failingSince?: Date | null;
}

/** The mongoose definition of `status` (cameras/model.ts); its fields are those of StoredStatus. */
export const statusDefinition = {
  state: { type: String, enum: cameraStates, default: 'UNKNOWN' },
  since: { type: Date, default: null },
  lastCheckAt: { type: Date, default: null },
  rttMs: { type: Number, default: null },
  flapping: { type: Boolean, default: false },
  reason: { type: String, default: null },
  confirmed: { type: String, enum: confirmedStates },
  seq: Number,
  failures: Number,
  successes: Number,
  hist: Number,
  histLen: Number,
  flapFrom: { type: String },
  maintenance: Boolean,
  failingSince: Date,
} satisfies Record<keyof StoredStatus, unknown>;

/**
 * A point's endpoint as stored. `host` is null for a point registered before it is connected (未接入):
 * such a point is not probed.
 */
export interface StoredEndpoint {
  host: string | null;
  rtspPort: number;
  rtspPath?: string | null;
  httpPort?: number | null;
  onvifPort?: number | null;
}

export interface StoredProbe {
  kind: (typeof probeKinds)[number];
  intervalSec: number;
  timeoutMs: number;
  retries: number;
}

/** The stored point as the native readers see it: every field may be missing in an old document. */
export interface StoredPoint {
  _id: mongo.ObjectId | string;
  regionId?: mongo.ObjectId | string;
  enabled?: boolean;
  endpoint?: StoredEndpoint | null;
  probe?: Partial<StoredProbe>;
  status?: StoredStatus;
  gbCode?: string;
  name?: string;
  address?: string;
  gridId?: mongo.ObjectId | null;
  location?: { lon: number; lat: number } | null;
  vendor?: string;
  maintainer?: { org?: string };
  tags?: string[];
  sharing?: string;
  upstreamId?: mongo.ObjectId | null;
}

/** The native driver collection of points (hot paths: cursors, batched bulkWrite). */
export function pointsCollection(conn: Connection): mongo.Collection<StoredPoint> {
  const db = conn.db;
  if (!db) throw new Error('store not connected');
  return db.collection<StoredPoint>(POINTS_COLLECTION);
}

/** What the polling engine reads of a point: the probe settings, and the status to restore. */
export const monitoredProjection = { regionId: 1, enabled: 1, endpoint: 1, probe: 1, status: 1 } as const;
export type MonitoredPointRow = Pick<StoredPoint, '_id' | 'regionId' | 'enabled' | 'endpoint' | 'probe' | 'status'>;

/** The same without the status (a registry change: the engine's own state is newer than the store's). */
export const monitoredSettingsProjection = { regionId: 1, enabled: 1, endpoint: 1, probe: 1 } as const;
export type MonitoredSettingsRow = Omit<MonitoredPointRow, 'status'>;

/** What live push indexes of a point: where it is, who sees it, the board's attributes and its state. */
export const liveProjection = {
  _id: 1,
  regionId: 1,
  sharing: 1,
  enabled: 1,
  'endpoint.host': 1,
  gbCode: 1,
  name: 1,
  address: 1,
  vendor: 1,
  'maintainer.org': 1,
  tags: 1,
  location: 1,
  upstreamId: 1,
  gridId: 1,
  'status.state': 1,
  'status.confirmed': 1,
  'status.since': 1,
  'status.flapping': 1,
} as const;
export type LivePointRow = Omit<StoredPoint, 'probe' | 'status' | 'endpoint'> & {
  endpoint?: Pick<StoredEndpoint, 'host'> | null;
  status?: Partial<Pick<StoredStatus, 'state' | 'confirmed' | 'since' | 'flapping'>>;
};

/** `status` as a partial update of many points, one updateOne each (monitoring's batched flush). */
export function statusUpdate(id: string, status: StoredStatus): mongo.AnyBulkWriteOperation<StoredPoint> {
  return { updateOne: { filter: { _id: storeId(id) }, update: { $set: { status } } } };
}

/** Registry ids are ObjectIds in the store; anything else (synthetic ids in benchmarks) stays a string. */
export function storeId(id: string): mongo.ObjectId | string {
  return isObjectId(id) ? new mongo.ObjectId(id) : id;
}

/** Whether a stored point can be probed: it has an endpoint host (a point without one is 未接入). */
export function isConnected(endpoint: { host?: string | null } | null | undefined): boolean {
  return typeof endpoint?.host === 'string' && endpoint.host.length > 0;
}
