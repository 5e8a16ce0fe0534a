import path from 'node:path';
import cron from 'node-cron';
import { z } from 'zod';
import { probeKindSchema } from './contracts/vocabulary';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);

/**
 * The demo camera simulator's listeners: unprivileged ports, so a trial needs no root (real cameras answer on
 * 554/80, which the registry's defaults keep for real points).
 */
export const DEMO_SIM_DEFAULT_PORTS = { rtspPort: 8554, httpPort: 8080 } as const;

/** A node-cron expression (5 fields, or 6 with seconds first). */
const cronExpr = z.string().refine((v) => cron.validate(v), 'must be a cron expression, e.g. "*/5 * * * *"');

/**
 * Every setting Vigil reads. The environment is the only source; each variable is documented in
 * .env.example. Parsed once at start-up: a bad value stops the process naming the variable.
 */
export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  PUBLIC_URL: z.url().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  EMBEDDED_DB_NAME: z.string().regex(/^[A-Za-z0-9_-]+$/).default('vigil'),
  EMBEDDED_STORE_THREAD: bool.default(true),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  IMPORT_LIMIT_BYTES: z.coerce.number().int().min(1024).default(104_857_600),
  /** An uploaded XLSX whose parts unzip to more than this is refused (413): zip bombs. */
  IMPORT_XLSX_MAX_UNZIPPED_BYTES: z.coerce.number().int().min(1024).default(1_073_741_824),
  PROBE_DEFAULT_KIND: probeKindSchema.default('tcp'),
  PROBE_DEFAULT_INTERVAL_SEC: z.coerce.number().int().min(5).max(86_400).default(60),
  PROBE_DEFAULT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  PROBE_DEFAULT_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  /** Unset: on, except under NODE_ENV=test (other capabilities' tests must not be probed behind their back). */
  MONITOR_ENABLED: bool.optional(),
  MONITOR_CONCURRENCY: z.coerce.number().int().min(1).max(60_000).default(4096),
  MONITOR_DISPATCH_TICK_MS: z.coerce.number().int().min(0).max(1000).default(50),
  PROBE_SOCKET: z.enum(['raw', 'net']).default('raw'),
  MONITOR_RETRY_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(10_000),
  MONITOR_INTERVAL_OVERRIDE_MS: z.coerce.number().int().min(50).max(86_400_000).optional(),
  MONITOR_SUCCESSES_TO_UP: z.coerce.number().int().min(1).max(10).default(1),
  MONITOR_FLAP_HIGH_PERCENT: z.coerce.number().min(1).max(100).default(20),
  MONITOR_FLAP_LOW_PERCENT: z.coerce.number().min(0).max(100).default(5),
  MONITOR_FLUSH_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  MONITOR_FLUSH_MAX_OPS: z.coerce.number().int().min(100).max(100_000).default(2000),
  MONITOR_STATUS_REFRESH_SEC: z.coerce.number().int().min(1).max(86_400).default(900),
  MONITOR_RESYNC_CRON: cronExpr.default('7 * * * *'),
  MONITOR_ROLLUP_CRON: cronExpr.default('*/15 * * * *'),
  MONITOR_TRANSITION_BUFFER_MAX: z.coerce.number().int().min(100).max(10_000_000).default(200_000),
  TRANSITIONS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(400),
  ROLLUPS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(800),
  METRICS_TOKEN: z.string().min(16).optional(),
  AUTH_MODE: z.enum(['required', 'open']).default('required'),
  ADMIN_USERNAME: z.string().min(3).max(64).optional(),
  ADMIN_PASSWORD: z.string().min(12).max(256).optional(),
  SESSION_TTL_HOURS: z.coerce.number().min(0.1).max(24 * 90).default(12),
  COOKIE_SECURE: bool.default(false),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean)),
  TRUST_PROXY: bool.default(false),
  LIVE_BATCH_MS: z.coerce.number().int().min(250).max(10_000).default(250),
  LIVE_REPLAY_BATCHES: z.coerce.number().int().min(1).max(100_000).default(240),
  LIVE_REPLAY_POINTS: z.coerce.number().int().min(100).max(10_000_000).default(200_000),
  LIVE_ROOM_IDLE_SEC: z.coerce.number().int().min(0).max(86_400).default(120),
  LIVE_RECONCILE_SEC: z.coerce.number().int().min(0).max(86_400).default(900),
  MAP_TILE_URL: z
    .string()
    .regex(/^(https?:\/\/|\/)[^\s]*\{z\}[^\s]*\{x\}[^\s]*\{y\}[^\s]*$/, 'must be an http(s) or /path URL template with {z}, {x} and {y}')
    .optional(),
  /**
   * Where the demo camera simulator listens (in-process `POST /demo/simulator`, and `npm run sim -- --demo`),
   * and therefore the ports the demo district's points name when it is loaded. 0 = any free port (see demo/routes.ts).
   */
  DEMO_SIM_RTSP_PORT: port.default(DEMO_SIM_DEFAULT_PORTS.rtspPort),
  DEMO_SIM_HTTP_PORT: port.default(DEMO_SIM_DEFAULT_PORTS.httpPort),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(public readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment (empty strings count as unset). Throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<keyof Config, string>> = {}): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = (overrides as Record<string, string | undefined>)[key] ?? env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  const cfg = parsed.data;
  if ((cfg.ADMIN_USERNAME === undefined) !== (cfg.ADMIN_PASSWORD === undefined)) {
    throw new ConfigError(['ADMIN_USERNAME/ADMIN_PASSWORD: set both or neither']);
  }
  if (cfg.AUTH_MODE === 'open' && cfg.NODE_ENV === 'production') {
    throw new ConfigError(['AUTH_MODE: "open" is for development only and refused when NODE_ENV=production']);
  }
  return { ...cfg, DATA_DIR: path.resolve(cfg.DATA_DIR) };
}
