import type { Config } from './config';
import type { Logger } from './lib/logger';
import type { OpenApiRegistry } from './lib/openapi';
import type { Store } from './store/connection';

/**
 * What the composition root hands every capability. Capabilities add their services in main wiring
 * (server.ts), never through globals.
 */
export interface AppContext {
  config: Config;
  logger: Logger;
  store: Store;
  openapi: OpenApiRegistry;
  /** Registers cleanup run on stop(), in reverse order of registration. */
  onStop(fn: () => Promise<void> | void): void;
  /** Registers a readiness check shown by /readyz (all must be true). */
  addReadinessCheck(name: string, check: () => Promise<boolean> | boolean): void;
}
