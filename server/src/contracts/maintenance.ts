import { z } from 'zod';
import { pointMatcherSchema } from './incidents';
import { objectIdSchema } from './vocabulary';

/**
 * Maintenance windows (alerts capability; `/api/v1/maintenance-windows`), shared by the server and the console.
 * A window puts the points it covers into monitoring's MAINTENANCE state while it is open: their time leaves the
 * online rate and they send no messages. Times of day are local times in the one configured zone (REPORT_TZ).
 */

/** A local time of day, "HH:MM" (24 h). */
export const localTimeSchema = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a local time "HH:MM" (00:00–23:59)');

/** ISO weekday: 1 = Monday … 7 = Sunday. */
export const isoWeekdays = [1, 2, 3, 4, 5, 6, 7] as const;
/** Day of the month: 1–31, or -1 for the last day of every month. */
export const LAST_DAY_OF_MONTH = -1;

const distinct = <T>(list: readonly T[]): boolean => new Set(list).size === list.length;

/**
 * When a window is open:
 * - `once`: from `startsAt` to `endsAt` (instants with an offset).
 * - `weekly`: on the listed ISO weekdays from local `start` to local `end`; an `end` not after `start` is on the
 *   next day (22:00–02:00 crosses midnight; 00:00–00:00 is the whole day).
 * - `monthly`: the same on the listed days of the month; a day the month lacks (31 in April) is skipped, -1 is the
 *   last day of every month.
 * - `cron`: opens at every time of a 5-field cron expression (minute hour day-of-month month day-of-week, read in
 *   the configured zone) and stays open `durationMin` minutes.
 */
export const maintenanceScheduleSchema = z.discriminatedUnion('kind', [
  z
    .strictObject({
      kind: z.literal('once'),
      startsAt: z.iso.datetime({ offset: true }),
      endsAt: z.iso.datetime({ offset: true }),
    })
    .refine((s) => Date.parse(s.endsAt) > Date.parse(s.startsAt), { message: 'endsAt must be after startsAt', path: ['endsAt'] }),
  z.strictObject({
    kind: z.literal('weekly'),
    days: z
      .array(z.number().int().min(1, 'must be an ISO weekday 1 (Monday) … 7 (Sunday)').max(7, 'must be an ISO weekday 1 (Monday) … 7 (Sunday)'))
      .min(1)
      .max(7)
      .refine(distinct, 'days must not repeat'),
    start: localTimeSchema,
    end: localTimeSchema,
  }),
  z.strictObject({
    kind: z.literal('monthly'),
    days: z
      .array(
        z
          .number()
          .int()
          .min(-1)
          .max(31)
          .refine((d) => d !== 0, 'must be a day of the month 1–31, or -1 for the last day'),
      )
      .min(1)
      .max(32)
      .refine(distinct, 'days must not repeat'),
    start: localTimeSchema,
    end: localTimeSchema,
  }),
  z.strictObject({
    kind: z.literal('cron'),
    /** Five fields: minute hour day-of-month month day-of-week. */
    expression: z
      .string()
      .trim()
      .max(200)
      .regex(/^\S+(\s+\S+){4}$/, 'must be a cron expression of 5 fields: minute hour day-of-month month day-of-week'),
    durationMin: z.number().int().min(1).max(7 * 24 * 60),
  }),
]);
export type MaintenanceSchedule = z.infer<typeof maintenanceScheduleSchema>;
export type MaintenanceScheduleKind = MaintenanceSchedule['kind'];

export const maintenanceWindowInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  comment: z.string().trim().max(500).default(''),
  /** A disabled window never opens (kept for later). */
  enabled: z.boolean().default(true),
  /**
   * Which points: every criterion given must hold (points AND region subtrees AND organisations AND tags);
   * only points the creator can see, and for a scoped admin only inside his subtree.
   */
  matcher: pointMatcherSchema,
  schedule: maintenanceScheduleSchema,
});
export type MaintenanceWindowInput = z.infer<typeof maintenanceWindowInputSchema>;
/** What a client sends (defaults may be left out). */
export type MaintenanceWindowBody = z.input<typeof maintenanceWindowInputSchema>;

export const maintenanceIdParamsSchema = z.strictObject({ id: objectIdSchema });

const occurrenceSchema = z.object({ startsAt: z.string(), endsAt: z.string() });
export type MaintenanceOccurrence = z.infer<typeof occurrenceSchema>;

export const maintenanceWindowSchema = z.object({
  id: z.string(),
  name: z.string(),
  comment: z.string(),
  enabled: z.boolean(),
  matcher: z.object({ pointIds: z.array(z.string()), regionIds: z.array(z.string()), orgs: z.array(z.string()), tags: z.array(z.string()) }),
  schedule: maintenanceScheduleSchema,
  /** The zone the schedule's local times are read in (REPORT_TZ). */
  timeZone: z.string(),
  /** Open now. */
  active: z.boolean(),
  /** The open occurrence (if any) and the next ones, up to 3, oldest first. */
  occurrences: z.array(occurrenceSchema),
  /** Points it covers now that the caller can see (null in a list too large to count cheaply). */
  coveredPoints: z.number().int().nullable(),
  version: z.number().int(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type MaintenanceWindowView = z.infer<typeof maintenanceWindowSchema>;
export const maintenanceWindowListSchema = z.object({
  items: z.array(maintenanceWindowSchema),
  /** The zone every schedule's local times are read in (REPORT_TZ): a console enters one-off times there too. */
  timeZone: z.string(),
});
export type MaintenanceWindowList = z.infer<typeof maintenanceWindowListSchema>;
