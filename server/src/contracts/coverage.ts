import { z } from 'zod';
import { objectIdSchema, regionTierSchema } from './vocabulary';

/**
 * Counts and coverage as `/api/v1/coverage/…` speaks them (planners: where are cameras, where are none).
 * Browser-safe (shared with the console).
 */

export const coverageQuerySchema = z.strictObject({
  /** The region node to count (its whole subtree, as far as the caller may see). */
  region: objectIdSchema,
});
export type CoverageQuery = z.infer<typeof coverageQuerySchema>;

/** Points per value of one dimension ('' = none given, e.g. no maintainer organisation). */
const breakdownSchema = z.record(z.string(), z.number().int());

export const coverageRowSchema = z.object({
  /** Region id; the node's own row ("registered at the node itself, in no child") has the node's id too. */
  id: z.string(),
  name: z.string(),
  tier: regionTierSchema,
  code: z.string().nullable(),
  /**
   * Households: a grid's own figure; above it the node's own figure, else the sum over its children when every
   * child has one; null when unknown.
   */
  households: z.number().int().nullable(),
  points: z.number().int(),
  enabled: z.number().int(),
  /** Points with an endpoint (probed) and points registered without one yet (未接入). */
  connected: z.number().int(),
  notConnected: z.number().int(),
  /** Per GB/T 28181 type code (digits 11–13: 132 IP camera, 131 camera, 118 NVR, …). */
  byType: breakdownSchema,
  /** Per GB/T 28181 industry code (digits 9–10: 00 public-security road, 01 community, 08 city management, …). */
  byIndustry: breakdownSchema,
  /** Per maintainer organisation. */
  byOrg: breakdownSchema,
  bySharing: z.object({ own: z.number().int(), up: z.number().int(), all: z.number().int() }),
  /** points ÷ households × 1,000, 2 decimals; null without a households figure. */
  per1000Households: z.number().nullable(),
  /** Grids in the row's subtree (the caller may see), those with no point, those without a households figure. */
  grids: z.object({ total: z.number().int(), withoutPoints: z.number().int(), withoutHouseholds: z.number().int() }),
});
export type CoverageRow = z.infer<typeof coverageRowSchema>;

const labelSchema = z.object({ name: z.string(), nameZh: z.string() });

export const coverageCountsSchema = z.object({
  region: z.object({ id: z.string(), name: z.string(), tier: regionTierSchema, path: z.array(z.object({ id: z.string(), name: z.string() })) }),
  /** The whole subtree. */
  total: coverageRowSchema,
  /** Points registered at the node itself, in none of its children (a community's points without a grid). */
  direct: coverageRowSchema,
  /** One row per child node (drill-down); total = Σ rows + direct in every figure. */
  rows: z.array(coverageRowSchema),
  /** Names of the type and industry codes that appear. */
  labels: z.object({ type: z.record(z.string(), labelSchema), industry: z.record(z.string(), labelSchema) }),
});
export type CoverageCounts = z.infer<typeof coverageCountsSchema>;

export const coverageGridSchema = z.object({
  id: z.string(),
  name: z.string(),
  tier: regionTierSchema,
  /** Street / community names on the way down (breadcrumb). */
  path: z.string(),
  households: z.number().int().nullable(),
  points: z.number().int(),
  per1000Households: z.number().nullable(),
});
export type CoverageGrid = z.infer<typeof coverageGridSchema>;

export const coverageGapsSchema = z.object({
  region: z.object({ id: z.string(), name: z.string(), tier: regionTierSchema }),
  /** Every grid of the subtree the caller may see, with its density (the heat map). */
  grids: z.array(coverageGridSchema),
  gridsWithoutPoints: z.array(coverageGridSchema),
  communitiesWithoutPoints: z.array(coverageGridSchema),
  gridsWithoutHouseholds: z.array(coverageGridSchema),
});
export type CoverageGaps = z.infer<typeof coverageGapsSchema>;

const lon = z.number().min(-180).max(180);
const lat = z.number().min(-90).max(90);

/** A planned site: a circle (centre and radius in metres) or a polygon ring (WGS-84, closed). */
export const areaShapeSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('circle'), center: z.strictObject({ lon, lat }), radiusM: z.number().positive().max(50_000) }),
  z.strictObject({
    type: z.literal('polygon'),
    coordinates: z
      .array(z.tuple([lon, lat]))
      .min(4, 'a polygon ring needs at least 4 positions')
      .max(2000)
      .refine((r) => r.length < 4 || (r[0][0] === r[r.length - 1][0] && r[0][1] === r[r.length - 1][1]), 'a polygon ring must be closed (first = last position)'),
  }),
]);
export type AreaShape = z.infer<typeof areaShapeSchema>;

export const coverageAreaInputSchema = z.strictObject({
  /** Only points of this region's subtree (as far as the caller may see). */
  region: objectIdSchema,
  shape: areaShapeSchema,
  /** Most points listed (nearest the centre / in code order); the counts cover all. */
  limit: z.number().int().min(1).max(5000).default(500),
});
export type CoverageAreaInput = z.infer<typeof coverageAreaInputSchema>;

export const coverageAreaSchema = z.object({
  counts: coverageRowSchema.pick({ points: true, enabled: true, connected: true, notConnected: true, byType: true, byIndustry: true, byOrg: true, bySharing: true }),
  points: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      gbCode: z.string(),
      lon: z.number(),
      lat: z.number(),
      /** Metres from the circle's centre (circles only). */
      distanceM: z.number().nullable(),
    }),
  ),
  /** True when more points matched than `limit`. */
  truncated: z.boolean(),
});
export type CoverageArea = z.infer<typeof coverageAreaSchema>;
