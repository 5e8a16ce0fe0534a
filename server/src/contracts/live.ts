import { z } from 'zod';
import type { IncidentServerEvents } from './incidents';
import { cameraStates, type CameraState } from './vocabulary';
import type { MonitoringLoad } from './monitoring';

/**
 * The `/live` Socket.IO contract, shared by the server and the console (the client imports this file
 * through a Vite alias). It must stay free of Node-only imports.
 *
 * Protocol:
 * 1. connect to namespace `/live` (authenticated once at connection: session cookie or bearer token);
 * 2. emit `subscribe` { regionId, lastSeq?, epoch? } → ack with a `snapshot` (or, when the client still
 *    holds a recent state of the same room epoch, a `delta` with what it missed);
 * 3. receive `status:changed` batches for that room: per-room `seq` increments by exactly 1; a client that
 *    sees a gap re-subscribes with its last seq; at most 4 batches per second per room;
 * 4. `status:resync` tells the client its view changed shape (points added, moved, deleted or re-shared):
 *    re-subscribe without lastSeq to get a fresh snapshot.
 */

// the state vocabulary lives in vocabulary.ts (one home); re-exported for the readers of this contract
export { cameraStates, cameraStateSchema, confirmedStateSchema, confirmedStates, type CameraState, type ConfirmedState } from './vocabulary';

/** Compact state code: index into `cameraStates`. */
export type StateCode = 0 | 1 | 2 | 3 | 4 | 5 | 6;
export const stateCodeOf: Readonly<Record<CameraState, StateCode>> = {
  UNKNOWN: 0,
  UP: 1,
  PENDING: 2,
  DOWN: 3,
  MAINTENANCE: 4,
  DISABLED: 5,
  NOT_CONNECTED: 6,
};

/** Counts per state, indexed by state code (length cameraStates.length). */
export type StateCounts = number[];

/** Zero counts, one per state. */
export function emptyStateCounts(): StateCounts {
  return cameraStates.map(() => 0);
}

export const regionIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'regionId: letters, digits, "_" or "-"');

export const subscribeRequestSchema = z.strictObject({
  regionId: regionIdSchema,
  /** The last seq the client applied for this room; asks for a replay instead of a snapshot. */
  lastSeq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** The room epoch the lastSeq belongs to (from the previous snapshot). */
  epoch: z.string().max(64).optional(),
});
export type SubscribeRequest = z.infer<typeof subscribeRequestSchema>;

export const unsubscribeRequestSchema = z.strictObject({ regionId: regionIdSchema });
export type UnsubscribeRequest = z.infer<typeof unsubscribeRequestSchema>;

/**
 * Point states as parallel arrays (one entry per point): `ids[i]` has state `st[i]` since `since[i]`
 * (Unix seconds, 0 = unknown); `flap` lists the indexes i that carry the FLAPPING mark.
 */
export interface PointStates {
  ids: string[];
  st: StateCode[];
  since: number[];
  flap: number[];
}

export interface RoomCounts {
  /** Every visible point of the subtree. */
  total: StateCounts;
  /** Points registered directly on the subscribed region itself (not in a child). */
  self: StateCounts;
  /** Per child region id: the visible points of that child's subtree. */
  children: Record<string, StateCounts>;
}

export interface Snapshot {
  kind: 'snapshot';
  regionId: string;
  /** Identifies this room's seq sequence; a replay is only possible within one epoch. */
  epoch: string;
  /** The seq of the last batch already reflected in this snapshot; the next batch is seq + 1. */
  seq: number;
  serverTime: number;
  counts: RoomCounts;
  points: PointStates;
}

/** What a reconnecting client missed, merged (latest state per point); counts are absolute. */
export interface Delta {
  kind: 'delta';
  regionId: string;
  epoch: string;
  seq: number;
  serverTime: number;
  changes: PointStates;
  counts: RoomCounts;
}

export type SubscribeResult = Snapshot | Delta;

/**
 * One coalesced batch for a room. Idempotent: `changes` carry absolute states and `counts` absolute
 * numbers (total, self when it changed, and only the children that changed).
 */
export interface StatusBatch {
  regionId: string;
  epoch: string;
  seq: number;
  serverTime: number;
  changes: PointStates;
  counts: { total: StateCounts; self?: StateCounts; children: Record<string, StateCounts> };
}

export interface ResyncNotice {
  regionId: string;
  reason: 'registry_changed' | 'room_reset';
}

export type LiveErrorCode = 'bad_request' | 'unauthenticated' | 'forbidden' | 'not_found' | 'rate_limited' | 'unavailable' | 'internal';

export type Ack<T> = { ok: true; data: T } | { ok: false; error: { code: LiveErrorCode; message: string } };

/** Status events, and the alerting capability's incident events (contracts/incidents.ts). */
export interface ServerToClientEvents extends IncidentServerEvents {
  'status:changed': (batch: StatusBatch) => void;
  'status:resync': (notice: ResyncNotice) => void;
  /** The polling engine's load, sent at connection and whenever the console's overload banner changes. */
  'monitoring:load': (load: MonitoringLoad) => void;
}

export interface ClientToServerEvents {
  subscribe: (req: SubscribeRequest, ack: (res: Ack<SubscribeResult>) => void) => void;
  unsubscribe: (req: UnsubscribeRequest, ack: (res: Ack<{ regionId: string }>) => void) => void;
}

export const LIVE_NAMESPACE = '/live';
/** The server never sends more than this many batches per second to one room. */
export const MAX_BATCHES_PER_SECOND = 4;

/**
 * `GET /api/v1/live/points?regionId=` — the attributes the board needs for every visible point of a subtree,
 * column-wise with dictionaries for repetitive values (100,000 points stay a few MB).
 */
export const pointCatalogQuerySchema = z.strictObject({ regionId: regionIdSchema });

export const pointCatalogSchema = z.object({
  regionId: z.string(),
  ids: z.array(z.string()),
  gbCode: z.array(z.string()),
  name: z.array(z.string()),
  address: z.array(z.string()),
  /** Index into `dict.regions`. */
  region: z.array(z.number().int()),
  /** The point's grid (网格), index into `dict.regions`, -1 = none. */
  grid: z.array(z.number().int()),
  /** Index into `dict.vendors`, -1 = none. */
  vendor: z.array(z.number().int()),
  /** Index into `dict.maintainers`, -1 = none. */
  maintainer: z.array(z.number().int()),
  /** Indexes into `dict.tags`. */
  tags: z.array(z.array(z.number().int())),
  /** 0 own, 1 up, 2 all. */
  sharing: z.array(z.number().int()),
  lon: z.array(z.number().nullable()),
  lat: z.array(z.number().nullable()),
  /** Upstream device point id, '' = none. */
  upstream: z.array(z.string()),
  dict: z.object({
    regions: z.array(z.string()),
    vendors: z.array(z.string()),
    maintainers: z.array(z.string()),
    tags: z.array(z.string()),
  }),
});
export type PointCatalog = z.infer<typeof pointCatalogSchema>;

/** Sharing as the live index codes it: index into `sharingValues` (0 own, 1 up, 2 all). */
export { sharingValues as sharingCodes } from './vocabulary';

/** `GET /api/v1/live/config` — console settings that come from the server environment. */
export const consoleConfigSchema = z.object({
  /** Optional intranet XYZ tile URL template ({z}/{x}/{y}); null = boundaries-only offline basemap. */
  tileUrl: z.string().nullable(),
  authMode: z.enum(['required', 'open']),
});
export type ConsoleConfig = z.infer<typeof consoleConfigSchema>;

/** `GET /api/v1/live/regions` — the region nodes the caller may see (flat), for the board. */
export const liveRegionsSchema = z.object({
  /** The caller's scope root (null = global): the board opens there. */
  scopeRegionId: z.string().nullable(),
  regions: z.array(z.object({ id: z.string(), parentId: z.string().nullable(), name: z.string(), tier: z.string() })),
});

export type LiveRegions = z.infer<typeof liveRegionsSchema>;

/** `GET /api/v1/live/boundaries?regionId=` — region boundaries (GeoJSON) of a subtree for the map. */
export const boundariesSchema = z.object({
  type: z.literal('FeatureCollection'),
  features: z.array(
    z.object({
      type: z.literal('Feature'),
      properties: z.object({ id: z.string(), name: z.string(), tier: z.string() }),
      geometry: z.unknown(),
    }),
  ),
});
export type Boundaries = z.infer<typeof boundariesSchema>;
