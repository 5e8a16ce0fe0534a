import { z } from 'zod';
import { objectIdSchema, regionTierSchema, type RegionTier } from '../contracts/vocabulary';

/** The tier rules and the query schemas; the shapes the API answers and takes live in contracts/regions.ts. */

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

export const regionDeleteQuerySchema = z.strictObject({
  /** Re-home the points of the deleted subtree to this district/street/community first. */
  movePointsTo: objectIdSchema.optional(),
  /** Also delete the node's descendants (refused without it when it has any). */
  cascade: z.enum(['true', 'false']).transform((v) => v === 'true').default(false),
});

export const regionListQuerySchema = z.strictObject({
  tier: regionTierSchema.optional(),
  parentId: objectIdSchema.optional(),
  /** Restrict to this node's subtree (itself included). */
  within: objectIdSchema.optional(),
  q: z.string().trim().max(64).optional(),
  boundary: z.enum(['true', 'false']).transform((v) => v === 'true').default(false),
});
export type RegionListQuery = z.infer<typeof regionListQuerySchema>;

export const regionTreeQuerySchema = z.strictObject({
  rootId: objectIdSchema.optional(),
  /** Levels below the root(s) to include (grids are level 3 under a district). */
  depth: z.coerce.number().int().min(0).max(3).default(3),
});
