import { z } from 'zod';
import { objectIdSchema, regionTierSchema } from './vocabulary';

/**
 * The monthly contractor assessment (考核表) as `/api/v1/reports/assessment…` speaks it. Browser-safe
 * (shared with the console). The JSON answer, the XLSX file and the print page are renderings of the one
 * `Assessment` object the server computes (server/src/reports/assessment.ts).
 */

/** A calendar month in REPORT_TZ, "YYYY-MM". */
export const monthSchema = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month YYYY-MM, e.g. 2026-06');

/** Grades of a contractor's score, best first (thresholds: ASSESSMENT_PASS_SCORE, ASSESSMENT_FAIR_SCORE). */
export const assessmentGrades = ['pass', 'fair', 'fail'] as const;
export const assessmentGradeSchema = z.enum(assessmentGrades);
export type AssessmentGrade = z.infer<typeof assessmentGradeSchema>;

/** The grade names printed on the sheet (the file is Chinese; the console translates the codes). */
export const assessmentGradeLabels: Readonly<Record<AssessmentGrade, string>> = { pass: '合格', fair: '一般', fail: '不合格' };

export const assessmentQuerySchema = z.strictObject({
  month: monthSchema,
  /** The region whose points are assessed (its whole subtree, as far as the caller may see); default: the caller's scope (global: the whole registry). */
  region: objectIdSchema.optional(),
  /** A closed month's version (default: the latest); an open month has none. */
  version: z.coerce.number().int().min(1).max(1000).optional(),
  /** Rows of the per-camera list in the JSON (most fault time first); the XLSX always holds every point. */
  cameras: z.coerce.number().int().min(0).max(10_000).default(200),
});
export type AssessmentQuery = z.infer<typeof assessmentQuerySchema>;

export const assessmentFileQuerySchema = assessmentQuerySchema.omit({ cameras: true });
export type AssessmentFileQuery = z.infer<typeof assessmentFileQuerySchema>;

export const assessmentReissueSchema = z.strictObject({
  month: monthSchema,
  /** Why the closed month is issued again (kept with the version and in the audit trail). */
  reason: z.string().trim().min(1, 'must say why the month is issued again').max(500),
});
export type AssessmentReissue = z.infer<typeof assessmentReissueSchema>;

/** The deduction rule: a camera whose month's fault (DOWN) time exceeds `overHours` costs `points`; the highest tier it exceeds applies. */
export const deductionTierSchema = z.object({ overHours: z.number().min(0), points: z.number().min(0) });
export type DeductionTier = z.infer<typeof deductionTierSchema>;

export const assessmentRuleSchema = z.object({
  fullScore: z.number(),
  /** Ascending by overHours. */
  deductions: z.array(deductionTierSchema),
  /** score ≥ passScore → pass (合格); ≥ fairScore → fair (一般); else fail (不合格). */
  passScore: z.number(),
  fairScore: z.number(),
});
export type AssessmentRule = z.infer<typeof assessmentRuleSchema>;

export const assessmentVersionSchema = z.object({
  version: z.number().int(),
  issuedAt: z.string(),
  /** Who issued it: null for the automatic close. */
  issuedBy: z.string().nullable(),
  reason: z.string().nullable(),
});
export type AssessmentVersion = z.infer<typeof assessmentVersionSchema>;

export const assessmentStatusSchema = z.object({
  /** open: computed from the current registry and history, may still change; closed: frozen figures of a version. */
  state: z.enum(['open', 'closed']),
  /** When the month closes (or closed): its end plus REPORT_CLOSE_GRACE_HOURS. */
  closesAt: z.string(),
  /** The version shown (null while open). */
  version: z.number().int().nullable(),
  versions: z.array(assessmentVersionSchema),
});
export type AssessmentStatus = z.infer<typeof assessmentStatusSchema>;

const figures = {
  /** Points assessed (visible to the caller, in the group). */
  points: z.number().int(),
  /** Points whose fault time exceeds the lowest deduction tier (default: more than 8 h DOWN in the month). */
  faultyCameras: z.number().int(),
  /** DOWN hours of the group's points in the month, 2 decimals. */
  faultHours: z.number(),
  upSec: z.number().int(),
  downSec: z.number().int(),
  /** Time-weighted online rate, percent with 4 decimals (Σup ÷ Σ(up + down)); null when nothing counted. */
  rate: z.number().nullable(),
};

export const assessmentContractorSchema = z.object({
  /** 1 = best; ties share a rank; null for points without a maintainer organisation (not a contractor). */
  rank: z.number().int().nullable(),
  /** The maintainer organisation ('' = none recorded). */
  org: z.string(),
  ...figures,
  deduction: z.number(),
  /** fullScore − deduction, at least 0, 1 decimal. */
  score: z.number(),
  grade: assessmentGradeSchema,
});
export type AssessmentContractor = z.infer<typeof assessmentContractorSchema>;

export const assessmentRegionSchema = z.object({
  /** By online rate (best first), then fewer faulty cameras; ties share a rank. */
  rank: z.number().int(),
  id: z.string(),
  name: z.string(),
  tier: regionTierSchema,
  ...figures,
});
export type AssessmentRegion = z.infer<typeof assessmentRegionSchema>;

export const assessmentCameraSchema = z.object({
  id: z.string(),
  code: z.string(),
  name: z.string(),
  org: z.string(),
  /** Region names from the top down, " / "-joined. */
  region: z.string(),
  faultSec: z.number().int(),
  faultHours: z.number(),
  rate: z.number().nullable(),
  deduction: z.number(),
});
export type AssessmentCamera = z.infer<typeof assessmentCameraSchema>;

export const assessmentSchema = z.object({
  month: monthSchema,
  from: z.string(),
  to: z.string(),
  timeZone: z.string(),
  /** The assessed region (null: the whole registry). */
  region: z.object({ id: z.string(), name: z.string(), tier: regionTierSchema }).nullable(),
  status: assessmentStatusSchema,
  rule: assessmentRuleSchema,
  method: z.string(),
  summary: z.object({
    ...figures,
    contractors: z.number().int(),
    grades: z.object({ pass: z.number().int(), fair: z.number().int(), fail: z.number().int() }),
  }),
  contractors: z.array(assessmentContractorSchema),
  regions: z.array(assessmentRegionSchema),
  /** The first `cameras` rows of the per-camera sheet (most fault time first; the XLSX holds every point). */
  cameras: z.array(assessmentCameraSchema),
  camerasTotal: z.number().int(),
});
export type Assessment = z.infer<typeof assessmentSchema>;
