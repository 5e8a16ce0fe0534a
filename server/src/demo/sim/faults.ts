import { z } from 'zod';

/**
 * What a simulated camera does when dialled:
 * - up: answers every protocol correctly
 * - down: powered off / cut off — every connection is reset right after accept (one wildcard listener
 *   cannot refuse per address, so RST-on-accept is the closest the simulator gets to "nothing there")
 * - reset: same wire behaviour as down, kept as its own name for single-camera faults
 * - blackhole: accepts, never answers (and never closes)
 * - slow: answers after `latencyMs`
 * - flapping: follows `pattern` ('U' up / 'D' down), one character per `stepMs` of wall time, or per
 *   connection when stepMs is 0
 * - garbage: answers with bytes that are no protocol at all
 * - http401 / http500: RTSP and HTTP answer 401 (Digest challenge) / 500
 */
export const faultModes = ['up', 'down', 'reset', 'blackhole', 'slow', 'flapping', 'garbage', 'http401', 'http500'] as const;
export type FaultMode = (typeof faultModes)[number];

export const faultSchema = z.strictObject({
  mode: z.enum(faultModes),
  latencyMs: z.number().int().min(0).max(600_000).default(0),
  pattern: z.string().regex(/^[UD]+$/, 'letters U and D only').max(1000).default('UD'),
  stepMs: z.number().int().min(0).max(3_600_000).default(0),
});
export type Fault = z.infer<typeof faultSchema>;
export type FaultInput = z.input<typeof faultSchema>;

/** What one accepted connection does, decided once at accept time (reset and flapping resolve to these). */
export type Action = 'up' | 'down' | 'blackhole' | 'slow' | 'garbage' | 'http401' | 'http500';

export const UP: Fault = { mode: 'up', latencyMs: 0, pattern: 'UD', stepMs: 0 };

/** Which cameras a scenario step or control call applies to. */
export const selectorSchema = z.union([
  z.strictObject({ camera: z.string() }),
  z.strictObject({ addresses: z.array(z.string()).max(1_000_000) }),
  z.strictObject({ region: z.string() }),
  z.strictObject({ all: z.literal(true) }),
  /** A deterministic pseudo-random share of all cameras (seeded), e.g. 0.01 for a 1 % mass outage. */
  z.strictObject({ fraction: z.number().min(0).max(1), seed: z.number().int().default(1) }),
]);
export type Selector = z.infer<typeof selectorSchema>;

export const scenarioSchema = z.strictObject({
  name: z.string().default('scenario'),
  steps: z
    .array(
      z.strictObject({
        /** ms after the scenario starts. */
        atMs: z.number().int().min(0).default(0),
        select: selectorSchema,
        fault: faultSchema,
      }),
    )
    .max(10_000),
});
export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
