import { z } from 'zod';
import { objectIdSchema, regionTierSchema, type RegionTier } from '../contracts/vocabulary';

/** The tier a node's parent must have; districts are roots. */
export const parentTierOf: Record<RegionTier, RegionTier | null> = {
  district: null,
  street: 'district',
  community: 'street',
  grid: 'community',
};

/**
 * Division codes per tier: a district has its GB/T 2260 code (6 digits); a street its township code
 * (GB/T 10114, 9 digits; an 8-digit basic-unit code as used in GB/T 28181 center codes is also accepted); a
 * community its 12-digit village-level code; a grid a local code of 12–20 digits (usually the community's
 * code plus a serial). Each code must start with the parent's code where the parent has one.
 */
export const codePatterns: Record<RegionTier, { re: RegExp; message: string }> = {
  district: { re: /^\d{6}$/, message: 'a district code has 6 digits (GB/T 2260), e.g. 210302' },
  street: { re: /^(\d{8}|\d{9})$/, message: 'a street code has 9 digits (GB/T 10114), e.g. 210302001' },
  community: { re: /^\d{12}$/, message: 'a community code has 12 digits, e.g. 210302001001' },
  grid: { re: /^\d{12,20}$/, message: 'a grid code has 12-20 digits' },
};

const lonLat = z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]);
const ring = z
  .array(lonLat)
  .min(4, 'a linear ring needs at least 4 positions')
  .refine((r) => r.length < 4 || (r[0][0] === r[r.length - 1][0] && r[0][1] === r[r.length - 1][1]), 'a linear ring must be closed (first = last position)');

/** GeoJSON geometry of a region's boundary (WGS-84). */
export const boundarySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('Polygon'), coordinates: z.array(ring).min(1).max(64) }),
  z.strictObject({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(ring).min(1).max(64)).min(1).max(256) }),
]);
export type Boundary = z.infer<typeof boundarySchema>;

const name = z.string().trim().min(1, 'required').max(64, 'at most 64 characters');
const households = z.number().int().min(0).max(10_000_000);
const note = z.string().trim().max(512);

export const regionInputSchema = z.strictObject({
  name,
  tier: regionTierSchema,
  parentId: objectIdSchema.nullable().default(null),
  code: z.string().trim().regex(/^\d{2,20}$/, 'digits only').nullable().default(null),
  households: households.nullable().default(null),
  boundary: boundarySchema.nullable().default(null),
  note: note.default(''),
});
export type RegionInput = z.infer<typeof regionInputSchema>;

/**
 * PATCH body. Changing `parentId` moves the node (and its subtree). A node holding points is only moved
 * with `withPoints: true` (they go along) or `movePointsTo` (they are re-homed first).
 */
export const regionPatchSchema = z.strictObject({
  name: name.optional(),
  parentId: objectIdSchema.nullable().optional(),
  code: z.string().trim().regex(/^\d{2,20}$/, 'digits only').nullable().optional(),
  households: households.nullable().optional(),
  boundary: boundarySchema.nullable().optional(),
  note: note.optional(),
  withPoints: z.boolean().optional(),
  movePointsTo: objectIdSchema.optional(),
  version: z.number().int().min(1).optional(),
});
export type RegionPatch = z.infer<typeof regionPatchSchema>;

export const regionDeleteQuerySchema = z.strictObject({
  /** Re-home the points of the deleted subtree to this district/street/community first. */
  movePointsTo: objectIdSchema.optional(),
  /** Also delete the node's descendants (refused without it when it has any). */
  cascade: z.enum(['true', 'false']).transform((v) => v === 'true').default(false),
});

export const regionSchema = z.object({
  id: z.string(),
  name: z.string(),
  tier: regionTierSchema,
  parentId: z.string().nullable(),
  code: z.string().nullable(),
  households: z.number().nullable(),
  boundary: z.unknown().nullable(),
  note: z.string(),
  /** Ancestor ids from the root down to the parent. */
  path: z.array(z.string()),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Region = z.infer<typeof regionSchema>;

export const regionListQuerySchema = z.strictObject({
  tier: regionTierSchema.optional(),
  parentId: objectIdSchema.optional(),
  /** Restrict to this node's subtree (itself included). */
  within: objectIdSchema.optional(),
  q: z.string().trim().max(64).optional(),
  boundary: z.enum(['true', 'false']).transform((v) => v === 'true').default(false),
});
export type RegionListQuery = z.infer<typeof regionListQuerySchema>;

export const pointCountsSchema = z.object({
  /** Points registered directly at the node (for a grid: points whose gridId is the grid). */
  direct: z.number().int(),
  /** Points in the node's subtree. */
  total: z.number().int(),
  enabled: z.number().int(),
});

export interface RegionTreeNode {
  id: string;
  name: string;
  tier: RegionTier;
  code: string | null;
  households: number | null;
  points: z.infer<typeof pointCountsSchema>;
  children: RegionTreeNode[];
}

export const regionTreeNodeSchema: z.ZodType<RegionTreeNode> = z.lazy(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    tier: regionTierSchema,
    code: z.string().nullable(),
    households: z.number().nullable(),
    points: pointCountsSchema,
    children: z.array(regionTreeNodeSchema),
  }),
);

export const regionTreeQuerySchema = z.strictObject({
  rootId: objectIdSchema.optional(),
  /** Levels below the root(s) to include (grids are level 3 under a district). */
  depth: z.coerce.number().int().min(0).max(3).default(3),
});

export const tierCountsSchema = z.object({
  /** Visible points by the tier of the region they are registered at. */
  byTier: z.object({ district: z.number().int(), street: z.number().int(), community: z.number().int() }),
  total: z.number().int(),
  enabled: z.number().int(),
  regions: z.object({ district: z.number().int(), street: z.number().int(), community: z.number().int(), grid: z.number().int() }),
  /** Grids (planners ask "which grids have none"). */
  grids: z.object({ total: z.number().int(), withPoints: z.number().int(), withoutPoints: z.number().int() }),
});
export type TierCounts = z.infer<typeof tierCountsSchema>;

export const regionTreeSchema = z.object({ roots: z.array(regionTreeNodeSchema), counts: tierCountsSchema });
