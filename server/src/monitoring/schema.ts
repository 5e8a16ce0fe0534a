import { z } from 'zod';
import type { HistoryPeriod } from '../contracts/monitoring';
import { objectIdSchema } from '../contracts/vocabulary';

/** The request and response shapes of the status routes live in contracts/monitoring.ts (shared with the console). */

export const cameraIdParams = z.strictObject({ id: objectIdSchema });

export const historyPeriods: Readonly<Record<HistoryPeriod, number>> = { '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };
