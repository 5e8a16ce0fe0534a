import { z } from 'zod';

/** The first-run demo (`/api/v1/demo`) as the API answers it. Browser-safe (shared with the console). */

/** The camera simulator serving the demo district's points inside the server process. */
export const simulatorSchema = z.object({ running: z.boolean(), cameras: z.number().int(), rtspPort: z.number().int().nullable(), httpPort: z.number().int().nullable(), controlUrl: z.string().nullable() });
export type SimulatorState = z.infer<typeof simulatorSchema>;

/** GET /demo. */
export const demoStatusSchema = z.object({ empty: z.boolean(), demoLoaded: z.boolean(), simulator: simulatorSchema });
export type DemoStatus = z.infer<typeof demoStatusSchema>;

/** POST /demo/load: regions and points created, and how long it took. */
export const demoResultSchema = z.object({ regions: z.number().int(), points: z.number().int(), tookMs: z.number() });
export type DemoResult = z.infer<typeof demoResultSchema>;
