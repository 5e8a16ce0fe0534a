import { maintenanceWindowInputSchema } from '../../contracts/maintenance';
import { cronProblem } from './recurrence';

/**
 * The request body of a maintenance window: the contract's schema plus what only the server can check — that a
 * cron expression parses (cron-parser) and fires within the next 13 months in the configured zone.
 */
export function maintenanceWindowBodySchema(timeZone: string): typeof maintenanceWindowInputSchema {
  return maintenanceWindowInputSchema.superRefine((w, ctx) => {
    if (w.schedule.kind !== 'cron') return;
    const problem = cronProblem(w.schedule.expression, timeZone);
    if (problem) ctx.addIssue({ code: 'custom', path: ['schedule', 'expression'], message: `not a usable cron expression: ${problem}` });
  });
}
