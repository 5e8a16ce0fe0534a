import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../server/src/config';
import { createLogger, type Logger } from '../../server/src/lib/logger';
import { startServer, type RunningServer } from '../../server/src/server';

export interface TestApp extends RunningServer {
  baseUrl: string;
  dataDir: string;
  /** Stops the server and removes its temporary data directory (unless keepData). */
  close(opts?: { keepData?: boolean }): Promise<void>;
}

/**
 * Boots the real app in-process on port 0 (the demo simulator too) with the real store: the embedded one in a fresh temp
 * directory, or MONGODB_URI (with a unique database name) when that is set. `opts.logger` replaces the app's logger
 * (a test that reads the log passes one that captures its lines).
 */
export async function bootApp(env: Record<string, string> = {}, opts: { logger?: Logger; maintenanceClock?: () => number } = {}): Promise<TestApp> {
  const dataDir = env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-test-'));
  // every listener on a free port, the in-process demo simulator's too: tests never bind fixed ports
  const base: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: '0',
    DEMO_SIM_RTSP_PORT: '0',
    DEMO_SIM_HTTP_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATA_DIR: dataDir,
  };
  if (process.env.MONGODB_URI) {
    const u = new URL(process.env.MONGODB_URI);
    u.pathname = `/vigil_test_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
    base.MONGODB_URI = u.toString();
  }
  const config: Config = loadConfig({ ...base, ...env });
  const server = await startServer({ config, logger: opts.logger ?? createLogger(config.LOG_LEVEL), maintenanceClock: opts.maintenanceClock });
  const baseUrl = server.url.replace(/\/$/, '');
  return {
    ...server,
    baseUrl,
    dataDir,
    async close(opts) {
      if (process.env.MONGODB_URI && !opts?.keepData) await server.ctx.store.conn.dropDatabase().catch(() => undefined);
      await server.stop();
      if (!opts?.keepData && !env.DATA_DIR) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The first admin's password (bootAuthApp) and the default password of test users (auth.ts createUser). */
export const TEST_PASSWORD = 'Test-password-0123';

/** The first admin created by bootAuthApp. */
export const bootAdmin = { username: 'admin', password: TEST_PASSWORD } as const;

/** bootApp with auth required and a first admin (bootAdmin: `admin` / TEST_PASSWORD). */
export async function bootAuthApp(env: Record<string, string> = {}, opts: { logger?: Logger; maintenanceClock?: () => number } = {}): Promise<TestApp> {
  return bootApp({ AUTH_MODE: 'required', ADMIN_USERNAME: bootAdmin.username, ADMIN_PASSWORD: TEST_PASSWORD, ...env }, opts);
}
