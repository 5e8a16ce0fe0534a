/** MongoDB's duplicate-key error (11000), thrown by a single write or reported by a bulk write. */
export function isDuplicateKey(err: unknown): err is { code?: number; keyPattern?: Record<string, unknown>; writeErrors?: Array<{ code?: unknown }> } {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; writeErrors?: Array<{ code?: unknown }> };
  return e.code === 11000 || (Array.isArray(e.writeErrors) && e.writeErrors.some((w) => w.code === 11000));
}

/**
 * The store ran out of disk space: ENOSPC from the file system, SQLite's "database or disk is full" (the
 * embedded store passes it on as the command's errmsg), or mongod's OutOfDiskSpace (14031).
 */
export function isDiskFull(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; codeName?: unknown; message?: unknown; errmsg?: unknown; writeErrors?: Array<{ errmsg?: unknown }> };
  if (e.code === 'ENOSPC' || e.code === 'SQLITE_FULL' || e.code === 14031 || e.codeName === 'OutOfDiskSpace') return true;
  const texts = [e.message, e.errmsg, ...(Array.isArray(e.writeErrors) ? e.writeErrors.map((w) => w.errmsg) : [])];
  return texts.some((t) => typeof t === 'string' && /ENOSPC|no space left on device|database or disk is full/i.test(t));
}
