import crypto from 'node:crypto';
import argon2 from 'argon2';

/** OWASP's argon2id baseline (19 MiB, 2 passes): ≈ 35 ms per hash on the 2-core reference machine. */
const argonOptions = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, argonOptions);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

export function randomSecret(bytes = 32): string {
  return crypto.randomBytes(bytes).toString('base64url');
}

/** Session cookies, CSRF tokens and API tokens carry 256 random bits, so a fast hash is enough to store them. */
export function sha256(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}

export function safeEqualHex(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ba.length === bb.length && ba.length > 0 && crypto.timingSafeEqual(ba, bb);
}

export const API_TOKEN_PREFIX = 'vgl_';

/**
 * The CSRF token of a session, derived from the (httpOnly, secret) session cookie value: page script can
 * only learn it from the readable vigil_csrf cookie, and the server recomputes it instead of storing it.
 */
export function csrfTokenFor(sessionToken: string): string {
  return crypto.createHmac('sha256', sessionToken).update('vigil-csrf-v1').digest('base64url');
}

/** Constant-time equality of two secrets (compared as SHA-256 digests, so not even the length leaks). */
export function safeEqualText(a: string, b: string): boolean {
  if (!a || !b) return false;
  const da = crypto.createHash('sha256').update(a).digest();
  const db = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(da, db);
}
