import { z } from 'zod';
import { objectIdSchema } from './vocabulary';

/**
 * Exclusion requests (停电 power cut, 施工 roadworks, 不可抗力 force majeure) as `/api/v1/reports/exclusions`
 * speaks them. An approved request takes its period out of the online-rate denominator of its points.
 * Browser-safe (shared with the console).
 */

export const exclusionReasons = ['power_cut', 'construction', 'force_majeure'] as const;
export const exclusionReasonSchema = z.enum(exclusionReasons);
export type ExclusionReason = z.infer<typeof exclusionReasonSchema>;

export const exclusionStates = ['pending', 'approved', 'rejected'] as const;
export type ExclusionState = (typeof exclusionStates)[number];

const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with offset, e.g. 2026-06-10T10:00:00+08:00' });
const url = z
  .string()
  .trim()
  .max(2048)
  .refine((u) => /^https?:\/\/[^\s]+$/i.test(u) && URL.canParse(u), 'must be an http(s) URL');

export const exclusionInputSchema = z
  .strictObject({
    /** Either points (ids) or a region (every point of its subtree you can see, fixed when the request is made). */
    pointIds: z.array(objectIdSchema).min(1).max(10_000).optional(),
    regionId: objectIdSchema.optional(),
    reason: exclusionReasonSchema,
    from: instant,
    /** End, exclusive. */
    to: instant,
    evidence: z.strictObject({
      text: z.string().trim().min(1, 'describe the evidence (what happened, who confirmed it)').max(4000),
      urls: z.array(url).max(10).default([]),
    }),
  })
  .superRefine((v, ctx) => {
    if ((v.pointIds === undefined) === (v.regionId === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['pointIds'], message: 'name either pointIds or regionId' });
    }
    const from = Date.parse(v.from);
    const to = Date.parse(v.to);
    if (to <= from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    else if (to - from > 92 * 86_400_000) ctx.addIssue({ code: 'custom', path: ['to'], message: 'a period is at most 92 days' });
  });
export type ExclusionInput = z.infer<typeof exclusionInputSchema>;

export const exclusionDecisionSchema = z.strictObject({ comment: z.string().trim().max(2000).default('') });
export type ExclusionDecision = z.infer<typeof exclusionDecisionSchema>;

export const exclusionIdParamsSchema = z.strictObject({ id: objectIdSchema });

export const exclusionListQuerySchema = z.strictObject({
  state: z.enum(exclusionStates).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const exclusionSchema = z.object({
  id: z.string(),
  state: z.enum(exclusionStates),
  reason: exclusionReasonSchema,
  from: z.string(),
  to: z.string(),
  /** The region named, or the nearest region holding every named point. */
  regionId: z.string(),
  regionName: z.string(),
  /** The points the request covers (those you can see). */
  pointIds: z.array(z.string()),
  /** How many points it covers in all. */
  pointCount: z.number().int(),
  evidence: z.object({ text: z.string(), urls: z.array(z.string()) }),
  requestedBy: z.object({ userId: z.string(), username: z.string(), scopeRegionId: z.string().nullable() }),
  requestedAt: z.string(),
  decidedBy: z.object({ userId: z.string(), username: z.string() }).nullable(),
  decidedAt: z.string().nullable(),
  comment: z.string(),
  /** Whether the caller may approve or reject it now. */
  canDecide: z.boolean(),
});
export type Exclusion = z.infer<typeof exclusionSchema>;

export const exclusionListSchema = z.object({ items: z.array(exclusionSchema) });

/** How an online-rate row names the approved exclusions that took time out of its denominator. */
export const rateExclusionSchema = z.object({ id: z.string(), reason: exclusionReasonSchema, approver: z.string(), from: z.string(), to: z.string() });
export type RateExclusion = z.infer<typeof rateExclusionSchema>;
