import { z } from 'zod';
import { rateExclusionSchema } from './exclusions';
import { objectIdSchema, regionTierSchema } from './vocabulary';

/**
 * The reports as `/api/v1/reports/…` speaks them. Browser-safe (shared with the console).
 */

/** An instant: ISO 8601 with offset ("2026-06-01T00:00:00+08:00"), or a date ("2026-06-01") = local midnight in REPORT_TZ. */
const instantSchema = z.union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'must be an ISO 8601 date-time with offset, or a date YYYY-MM-DD (local midnight in REPORT_TZ)' });

export const onlineRateGroupings = ['node', 'org', 'point'] as const;

/**
 * Point classifications of the online-rate targets (the 2015 national plan: 98 % for key public areas, 95 % for
 * industry cameras). A point's class follows the industry digits (9–10) of its GB/T 28181 code
 * (REPORT_KEY_PUBLIC_INDUSTRIES, default public security and traffic 00–07 = key public areas).
 */
export const pointClasses = ['key-public', 'industry'] as const;
export const pointClassSchema = z.enum(pointClasses);
export type PointClass = z.infer<typeof pointClassSchema>;

/** The classification of a GB/T 28181 code, given the industry codes that are key public areas. */
export function classOfGbCode(gbCode: string, keyPublicIndustries: readonly string[]): PointClass {
  return keyPublicIndustries.includes(gbCode.slice(8, 10)) ? 'key-public' : 'industry';
}

/** Target per classification, percent (REPORT_TARGETS). */
const targetsSchema = z.object({ 'key-public': z.number(), industry: z.number() });

export const onlineRateQuerySchema = z.strictObject({
  /** The region node whose points are counted (its whole subtree, as far as the caller may see). */
  region: objectIdSchema,
  /** Start, inclusive. */
  from: instantSchema,
  /** End, exclusive (a date: that day's local midnight, so `to=2026-07-01` ends with 30 June). */
  to: instantSchema,
  /** Rows per child node of `region`, per maintainer organisation, or per point (worst first). */
  by: z.enum(onlineRateGroupings).default('node'),
  /** Most rows; by=point always lists the worst rates first. */
  limit: z.coerce.number().int().min(1).max(10_000).default(500),
  /** Row order: `rate` = worst first (worst-N with `limit`); `key` = by node/organisation name (default for node and org). */
  sort: z.enum(['key', 'rate']).optional(),
  /** Only points of this maintainer organisation. */
  org: z.string().max(128).optional(),
  /** Only points of this classification. */
  class: pointClassSchema.optional(),
  /** Only points of this GB/T 28181 device type (digits 11–13, e.g. 132 = IP camera). */
  type: z.string().regex(/^\d{3}$/, 'must be the three-digit GB/T 28181 type, e.g. 132').optional(),
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
  /** Per classification present in the row: its pooled rate beside its target; `below` when rate < target. */
  classes: z.array(
    z.object({ class: pointClassSchema, points: z.number().int(), upSec: z.number().int(), downSec: z.number().int(), rate: z.number().nullable(), target: z.number(), below: z.boolean() }),
  ),
  /** Some classification of the row is below its target. */
  belowTarget: z.boolean(),
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
  /** Targets per classification (percent, REPORT_TARGETS). */
  targets: targetsSchema,
  /**
   * Where whole days were read: `sums` = the per-group daily sums (region, sharing, organisation, classification;
   * reports/sums.ts), `points` = every point's own history. Both give the same figures to the second.
   */
  source: z.enum(['sums', 'points']),
  total: onlineRateRowSchema,
  rows: z.array(onlineRateRowSchema),
});
export type OnlineRate = z.infer<typeof onlineRateSchema>;

export const onlineRateTrendQuerySchema = z.strictObject({
  region: objectIdSchema,
  /** Calendar months (REPORT_TZ) ending with the current one. */
  months: z.coerce.number().int().min(1).max(25).default(13),
  /** Rows per child node or per maintainer organisation in each month. */
  by: z.enum(['node', 'org']).default('node'),
  org: z.string().max(128).optional(),
  class: pointClassSchema.optional(),
});
export type OnlineRateTrendQuery = z.infer<typeof onlineRateTrendQuerySchema>;

export const onlineRateTrendSchema = z.object({
  region: z.object({ id: z.string(), name: z.string(), tier: regionTierSchema }),
  timeZone: z.string(),
  by: z.enum(['node', 'org']),
  method: z.string(),
  targets: targetsSchema,
  months: z.array(
    z.object({
      /** yyyy-mm */
      month: z.string(),
      from: z.string(),
      to: z.string(),
      source: z.enum(['sums', 'points']),
      total: onlineRateRowSchema,
      rows: z.array(onlineRateRowSchema),
    }),
  ),
});
export type OnlineRateTrend = z.infer<typeof onlineRateTrendSchema>;
