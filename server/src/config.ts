import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);

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
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  IMPORT_LIMIT_BYTES: z.coerce.number().int().min(1024).default(104_857_600),
  PROBE_DEFAULT_KIND: z.enum(['tcp', 'rtsp', 'onvif', 'http']).default('tcp'),
  PROBE_DEFAULT_INTERVAL_SEC: z.coerce.number().int().min(5).max(86_400).default(60),
  PROBE_DEFAULT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  PROBE_DEFAULT_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
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
