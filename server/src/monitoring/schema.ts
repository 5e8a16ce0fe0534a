import { z } from 'zod';
import { cameraStateSchema, confirmedStateSchema } from '../contracts/live';
import { probeKinds, probeOutcomes } from '../probes/types';
import { objectIdSchema } from '../contracts/vocabulary';

export const cameraIdParams = z.strictObject({ id: objectIdSchema });

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

export const historyPeriods = { '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;
export const historyQuerySchema = z.strictObject({ period: z.enum(['24h', '7d', '30d']).default('24h') });

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
