import type { AppContext } from '../context';
import { AuthService } from './service';

const services = new WeakMap<AppContext, AuthService>();

/**
 * Creates the auth service of one app (models on ctx.store.conn), runs first-run setup and returns the
 * one-time setup token when no user exists and no ADMIN_USERNAME is configured.
 */
export async function setupAuth(ctx: AppContext): Promise<{ auth: AuthService; setupToken?: string }> {
  const auth = new AuthService(ctx);
  services.set(ctx, auth);
  const { setupToken } = await auth.init();
  return { auth, ...(setupToken ? { setupToken } : {}) };
}

/** The auth service of this app; keyed by context (not a process global) so apps in one process stay apart. */
export function authOf(ctx: AppContext): AuthService {
  const auth = services.get(ctx);
  if (!auth) throw new Error('auth is not set up for this app (call setupAuth(ctx) first)');
  return auth;
}
