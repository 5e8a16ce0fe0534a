/** MongoDB's duplicate-key error (11000), thrown by a single write or reported by a bulk write. */
export function isDuplicateKey(err: unknown): err is { code?: number; keyPattern?: Record<string, unknown>; writeErrors?: Array<{ code?: unknown }> } {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; writeErrors?: Array<{ code?: unknown }> };
  return e.code === 11000 || (Array.isArray(e.writeErrors) && e.writeErrors.some((w) => w.code === 11000));
}
