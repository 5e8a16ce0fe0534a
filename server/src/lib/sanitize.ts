import type { RequestHandler } from 'express';
import { AppError } from './errors';

/** Deepest nesting a JSON body may have: no request of this API needs more than a handful of levels. */
export const MAX_BODY_DEPTH = 32;

/**
 * Finds the first key starting with `$` or containing a `.` at any depth (a smuggled query operator).
 * Iterative with a depth bound, so a body nested thousands deep is refused (400) instead of overflowing the stack.
 */
export function findOperatorKey(value: unknown, pathSoFar = ''): string | null {
  const stack: Array<{ v: unknown; path: string; depth: number }> = [{ v: value, path: pathSoFar, depth: 0 }];
  while (stack.length) {
    const { v, path, depth } = stack.pop() as { v: unknown; path: string; depth: number };
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) throw new AppError('bad_request', `body nested deeper than ${MAX_BODY_DEPTH} levels`);
    const children: Array<{ v: unknown; path: string; depth: number }> = [];
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) children.push({ v: v[i] as unknown, path: `${path}[${i}]`, depth: depth + 1 });
    } else {
      for (const [k, child] of Object.entries(v)) {
        const here = path ? `${path}.${k}` : k;
        if (k.startsWith('$') || k.includes('.')) return here;
        children.push({ v: child, path: here, depth: depth + 1 });
      }
    }
    // depth-first, in document order
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return null;
}

/** JSON bodies may not carry MongoDB operators or dotted keys; they never reach the store. */
export const rejectOperatorKeys: RequestHandler = (req, _res, next) => {
  let hit: string | null;
  try {
    hit = findOperatorKey(req.body);
  } catch (err) {
    next(err);
    return;
  }
  if (hit) {
    next(new AppError('bad_request', `field "${hit}": keys starting with "$" or containing "." are not allowed`, [{ field: hit, message: 'operator keys are not allowed' }]));
    return;
  }
  next();
};
