import { z } from 'zod';
import { rateExclusionSchema } from './exclusions';
import { objectIdSchema, regionTierSchema } from './vocabulary';

/**
 * The reports as `/api/v1/reports/…` speaks them. Browser-safe (shared with the console).
 */

/** An instant: ISO 8601 with offset ("2026-06-01T00:00:00+08:00"), or a date ("2026-06-01") = local midnight in REPORT_TZ. */
const instantSchema = z.union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'must be an ISO 8601 date-time with offset, or a date YYYY-MM-DD (local midnight in REPORT_TZ)' });

export const onlineRateGroupings = ['node', 'org', 'point'] as const;

export const onlineRateQuerySchema = z.strictObject({
  /** The region node whose points are counted (its whole subtree, as far as the caller may see). */
  region: objectIdSchema,
  /** Start, inclusive. */
  from: instantSchema,
  /** End, exclusive (a date: that day's local midnight, so `to=2026-07-01` ends with 30 June). */
  to: instantSchema,
  /** Rows per child node of `region`, per maintainer organisation, or per point (worst first). */
  by: z.enum(onlineRateGroupings).default('node'),
  /** by=point: most rows (the worst rates first). */
  limit: z.coerce.number().int().min(1).max(10_000).default(500),
});
export type OnlineRateQuery = z.infer<typeof onlineRateQuerySchema>;

export const onlineRateRowSchema = z.object({
  /** node: region id; org: organisation name ('' = none); point: camera id. */
  key: z.string(),
  name: z.string(),
  /** Points counted (visible to the caller, in the group). */
  points: z.number().int(),
  /** Time-weighted rate, percent with 4 decimals: Σup ÷ Σ(up + down) seconds; null when no up or down time. */
  rate: z.number().nullable(),
  upSec: z.number().int(),
  downSec: z.number().int(),
  maintenanceSec: z.number().int(),
  neverCheckedSec: z.number().int(),
  notConnectedSec: z.number().int(),
  disabledSec: z.number().int(),
  /** PENDING seconds within up/down/never-checked, whole days only. */
  pendingSec: z.number().int(),
  /** Snapshot mode: UP/DOWN at the configured local instants; rate = online ÷ (online + offline). */
  snapshot: z.object({ online: z.number().int(), offline: z.number().int(), rate: z.number().nullable() }),
  /** Seconds approved exclusions took out (they are in none of the figures above). */
  excludedSec: z.number().int(),
  /** The approved exclusions that took them, with reason and approver. */
  exclusions: z.array(rateExclusionSchema),
});
export type OnlineRateRow = z.infer<typeof onlineRateRowSchema>;

export const onlineRateSchema = z.object({
  region: z.object({ id: z.string(), name: z.string(), tier: regionTierSchema }),
  from: z.string(),
  /** The end actually counted: the requested end, or now when that is in the future. */
  to: z.string(),
  timeZone: z.string(),
  by: z.enum(onlineRateGroupings),
  /** How the figures pool (stated in every answer). */
  method: z.string(),
  snapshotTimes: z.array(z.string()),
  total: onlineRateRowSchema,
  rows: z.array(onlineRateRowSchema),
});
export type OnlineRate = z.infer<typeof onlineRateSchema>;
