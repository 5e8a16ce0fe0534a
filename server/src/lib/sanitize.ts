import type { RequestHandler } from 'express';
import { AppError } from './errors';

/** Finds the first key starting with `$` or containing a `.` at any depth (a smuggled query operator). */
export function findOperatorKey(value: unknown, pathSoFar = ''): string | null {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findOperatorKey(value[i], `${pathSoFar}[${i}]`);
      if (hit) return hit;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const here = pathSoFar ? `${pathSoFar}.${k}` : k;
      if (k.startsWith('$') || k.includes('.')) return here;
      const hit = findOperatorKey(v, here);
      if (hit) return hit;
    }
  }
  return null;
}

/** JSON bodies may not carry MongoDB operators or dotted keys; they never reach the store. */
export const rejectOperatorKeys: RequestHandler = (req, _res, next) => {
  const hit = findOperatorKey(req.body);
  if (hit) {
    next(new AppError('bad_request', `field "${hit}": keys starting with "$" or containing "." are not allowed`, [{ field: hit, message: 'operator keys are not allowed' }]));
    return;
  }
  next();
};
