/**
 * Generates the OpenAPI document exactly as GET /api/v1/openapi.json serves it (the app is built in-process
 * on loopback port 0 with a throw-away data directory and no polling, then stopped) and lints it with
 * redocly (`redocly.yaml` at the repository root: the recommended rules, offline, no telemetry).
 *
 *   tsx scripts/openapi-lint.ts [--out FILE]     exit 1 when redocly reports an error
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../server/src/config';
import { createLogger } from '../server/src/lib/logger';
import { startServer } from '../server/src/server';
import { apiDocumentInfo } from '../server/src/lib/openapi';

const repoRoot = path.resolve(__dirname, '..');

async function generate(): Promise<unknown> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-openapi-'));
  try {
    const config = loadConfig({ NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', MONITOR_ENABLED: 'false', DEMO_SIM_RTSP_PORT: '0', DEMO_SIM_HTTP_PORT: '0' });
    const server = await startServer({ config, logger: createLogger('silent') });
    try {
      return server.ctx.openapi.document(apiDocumentInfo);
    } finally {
      await server.stop();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const outArg = process.argv.indexOf('--out');
  const out = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(os.tmpdir(), `vigil-openapi-${process.pid}.json`);
  fs.writeFileSync(out, JSON.stringify(await generate(), null, 2));
  const redocly = path.join(repoRoot, 'node_modules', '.bin', 'redocly');
  const r = spawnSync(redocly, ['lint', '--config', path.join(repoRoot, 'redocly.yaml'), out], {
    stdio: 'inherit',
    // never phone home: redocly's telemetry and update notice are off; nothing in redocly.yaml is remote
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true' },
  });
  if (outArg < 0) fs.rmSync(out, { force: true });
  process.exitCode = r.status ?? 1;
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
