import { z } from 'zod';
import { cameraStateSchema, confirmedStateSchema } from './vocabulary';
import { probeKinds, probeOutcomes } from './vocabulary';

/**
 * Availability of one point as `/api/v1/cameras/:id/{status,history,check}` answers it. Browser-safe: the
 * console's point detail reads these types.
 */

export const pointStatusSchema = z.object({
  cameraId: z.string(),
  state: cameraStateSchema,
  confirmed: confirmedStateSchema,
  since: z.string(),
  lastCheckAt: z.string().nullable(),
  rttMs: z.number().nullable(),
  flapping: z.boolean(),
  reason: z.string().nullable(),
  consecutiveFailures: z.number().int(),
  maintenance: z.boolean(),
  nextCheckAt: z.string().nullable(),
});
export type PointStatus = z.infer<typeof pointStatusSchema>;

export const transitionSchema = z.object({
  id: z.string(),
  cameraId: z.string(),
  regionId: z.string(),
  seq: z.number().int(),
  from: confirmedStateSchema,
  to: confirmedStateSchema,
  at: z.string(),
  reason: z.string().nullable(),
  rttMs: z.number().nullable(),
  flapping: z.boolean(),
  failingSince: z.string().nullable(),
});
export type Transition = z.infer<typeof transitionSchema>;

/** The windows `GET /cameras/:id/history?period=` offers. */
export const historyPeriodSchema = z.enum(['24h', '7d', '30d']);
export type HistoryPeriod = z.infer<typeof historyPeriodSchema>;
export const historyQuerySchema = z.strictObject({ period: historyPeriodSchema.default('24h') });

export const historySchema = z.object({
  cameraId: z.string(),
  period: z.string(),
  from: z.string(),
  to: z.string(),
  uptime: z.object({
    /** UP time ÷ (UP + DOWN time) over the period, percent; maintenance, never-checked, disabled and not-connected time excluded. */
    percent: z.number().nullable(),
    upSec: z.number(),
    downSec: z.number(),
    maintenanceSec: z.number(),
    unknownSec: z.number(),
    checks: z.number().int(),
    failures: z.number().int(),
  }),
  transitions: z.array(transitionSchema),
});
export type History = z.infer<typeof historySchema>;

export const checkResultSchema = z.object({
  kind: z.enum(probeKinds),
  result: z.object({
    outcome: z.enum(probeOutcomes),
    up: z.boolean(),
    rttMs: z.number(),
    status: z.number().int().optional(),
    detail: z.string().optional(),
  }),
  status: pointStatusSchema,
  transition: transitionSchema.nullable(),
});
export type CheckResult = z.infer<typeof checkResultSchema>;

/**
 * How the polling engine keeps up (`GET /api/v1/monitoring/load`, and the `/live` event `monitoring:load`
 * pushed to every console when it changes). `overloaded` is what the console's banner shows: routine checks
 * run late, so a point's state may be up to `effectiveIntervalSec` old instead of `setIntervalSec`.
 */
export const monitoringLoadSchema = z.object({
  /** Routine checks run at least 10 % later than set (cleared under 5 %). */
  overloaded: z.boolean(),
  /** Mean time between two routine checks of a point over the last window, seconds; null before any. */
  effectiveIntervalSec: z.number().nullable(),
  /** Mean set interval of the same checks, seconds; null before any. */
  setIntervalSec: z.number().nullable(),
  /** Checks a second needed to keep every set interval ÷ what the engine can carry now; null when unknown. */
  capacityUsed: z.number().nullable(),
  /** Checks a second admission control allows now; null = not limiting. */
  admittedPerSec: z.number().nullable(),
  at: z.string(),
});
export type MonitoringLoad = z.infer<typeof monitoringLoadSchema>;
