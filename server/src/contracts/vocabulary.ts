import { z } from 'zod';

/**
 * The vocabulary of Vigil, one home for each list of values: imported by the server (schemas, models,
 * config, probes) and by the console (through the `@contracts` alias). It must stay free of Node-only imports.
 */

/** Who beyond a point's own tier sees it (see auth/scope.ts): own tier and below, also the tiers above, everyone. */
export const sharingValues = ['own', 'up', 'all'] as const;
export const sharingSchema = z.enum(sharingValues);
export type Sharing = z.infer<typeof sharingSchema>;

/**
 * THE state vocabulary of a point (the state machine, the stored status, the API and the board all use
 * this list). Codes are positions in it and travel over the wire: append new states, never reorder.
 * NOT_CONNECTED (未接入): registered without an endpoint host yet, so not probed.
 */
export const cameraStates = ['UNKNOWN', 'UP', 'PENDING', 'DOWN', 'MAINTENANCE', 'DISABLED', 'NOT_CONNECTED'] as const;
export const cameraStateSchema = z.enum(cameraStates);
export type CameraState = z.infer<typeof cameraStateSchema>;

/** States a transition can announce: every state but PENDING (a failure not yet confirmed). */
export const confirmedStateSchema = cameraStateSchema.exclude(['PENDING']);
export type ConfirmedState = z.infer<typeof confirmedStateSchema>;
export const confirmedStates = confirmedStateSchema.options;

/** The region tiers, top down. */
export const regionTiers = ['district', 'street', 'community', 'grid'] as const;
export const regionTierSchema = z.enum(regionTiers);
export type RegionTier = z.infer<typeof regionTierSchema>;

/** How a point's availability is checked (one file per kind in server/src/probes/). */
export const probeKinds = ['tcp', 'rtsp', 'onvif', 'http'] as const;
export const probeKindSchema = z.enum(probeKinds);
export type ProbeKind = z.infer<typeof probeKindSchema>;

/**
 * What one check of a point found:
 * - ok: the service answered as expected
 * - auth_required: the device answered but wants credentials (401) — it is alive, so it counts as up
 * - refused: nothing listens (RST on SYN)
 * - timeout: no (complete) answer within the timeout
 * - reset: the peer reset the connection
 * - unreachable: no route / host unknown
 * - protocol_error: the peer answered, but not with what the protocol expects (`detail` says what)
 */
export const probeOutcomes = ['ok', 'auth_required', 'refused', 'timeout', 'reset', 'unreachable', 'protocol_error'] as const;
export type ProbeOutcome = (typeof probeOutcomes)[number];

/** Ids of stored records: 24 lower-case hex digits (MongoDB ObjectIds). */
export const OBJECT_ID_PATTERN = /^[0-9a-f]{24}$/;
export const objectIdSchema = z.string().regex(OBJECT_ID_PATTERN, 'must be a 24-hex-digit id');

export function isObjectId(s: string): boolean {
  return OBJECT_ID_PATTERN.test(s);
}
