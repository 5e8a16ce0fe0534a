import { z } from 'zod';
import { objectIdSchema, regionTierSchema, type RegionTier } from './vocabulary';

/**
 * The region tree as `/api/v1/regions` speaks it: what it answers and the bodies it takes. Browser-safe
 * (shared with the console); the tier rules and division-code patterns stay in regions/schema.ts.
 */

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

export const regionSchema = z.object({
  id: z.string(),
  name: z.string(),
  tier: regionTierSchema,
  parentId: z.string().nullable(),
  code: z.string().nullable(),
  households: z.number().nullable(),
  boundary: boundarySchema.nullable(),
  note: z.string(),
  /** Ancestor ids from the root down to the parent. */
  path: z.array(z.string()),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Region = z.infer<typeof regionSchema>;

export const regionListSchema = z.object({ items: z.array(regionSchema) });

/** DELETE /regions/:id answer. */
export const regionDeleteResultSchema = z.object({ deleted: z.number().int(), pointsMoved: z.number().int() });

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

export const regionTreeNodeSchema: z.ZodType<RegionTreeNode> = z
  .lazy(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    tier: regionTierSchema,
    code: z.string().nullable(),
    households: z.number().nullable(),
    points: pointCountsSchema,
    children: z.array(regionTreeNodeSchema),
  }),
  )
  // recursive: the OpenAPI document names it (components/schemas/RegionTreeNode) instead of inlining it
  .meta({ id: 'RegionTreeNode' });

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
