import path from 'node:path';
import cron from 'node-cron';
import { z } from 'zod';
import { probeKindSchema } from './contracts/vocabulary';
import { parseCidr, type Cidr } from './lib/cidr';
import { isTimeZone } from './lib/calendar';
import { logFormats, logLevels } from './lib/logger';

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
  LOG_LEVEL: z.enum(logLevels).default('info'),
  /** auto: JSON lines in production or when stderr is not a terminal, readable lines on a terminal. */
  LOG_FORMAT: z.enum(logFormats).default('auto'),
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
  /**
   * Ranges no point may target (refused with 422 on create/update/import, and never probed): by default the
   * host's own services (127.0.0.1, ::1 — the rest of 127.0.0.0/8 stays allowed for simulated cameras),
   * link-local (169.254.0.0/16 holds cloud metadata services; fe80::/10), 0.0.0.0/8 and multicast.
   * Comma-separated CIDRs; `none` = no range denied.
   */
  PROBE_DENY_CIDRS: z
    .string()
    .default('169.254.0.0/16,fe80::/10,0.0.0.0/8,224.0.0.0/4,ff00::/8,127.0.0.1/32,::1/128')
    .transform((s, ctx): readonly Cidr[] => {
      if (s.trim().toLowerCase() === 'none') return [];
      const out: Cidr[] = [];
      for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
        try {
          out.push(parseCidr(part));
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }
      return out;
    }),
  /** Unset: on, except under NODE_ENV=test (other capabilities' tests must not be probed behind their back). */
  MONITOR_ENABLED: bool.optional(),
  MONITOR_CONCURRENCY: z.coerce.number().int().min(1).max(60_000).default(4096),
  /**
   * Dispatch tick: a tick's batch of connects is one synchronous stretch, and the event loop's delay p99 follows
   * it: 25 ms halves the batch of a 50 ms tick (event loop p99 3.9–4.2 against 5.9–6.0 ms at 150,000 points, the
   * same CPU per check; BENCHMARKS.md, #15 at nominal load, 2026-12-04 19:09).
   */
  MONITOR_DISPATCH_TICK_MS: z.coerce.number().int().min(0).max(1000).default(25),
  PROBE_SOCKET: z.enum(['raw', 'net']).default('raw'),
  MONITOR_LOOP_DELAY_TARGET_MS: z.coerce.number().int().min(0).max(10_000).default(50),
  /** V8's parallel young-generation collection (lib/runtime.ts): off by default, it stalls the event loop on two busy cores. */
  GC_PARALLEL_SCAVENGE: bool.default(false),
  /** Old-generation growth past the live heap before a full GC, percent (lib/runtime.ts); 0: V8's own. */
  GC_HEAP_GROWTH_PERCENT: z.coerce.number().int().min(0).max(300).default(30),
  MONITOR_MAX_CHECKS_PER_SEC: z.coerce.number().positive().max(1_000_000).optional(),
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
  /** The one time zone of Vigil: history days and months, every report, maintenance windows, times in alert messages. */
  REPORT_TZ: z
    .string()
    .refine((v) => isTimeZone(v), 'must be an IANA time zone, e.g. "Asia/Shanghai"')
    .default('Asia/Shanghai'),
  HISTORY_HOURLY_DAYS: z.coerce.number().int().min(2).max(3650).default(35),
  HISTORY_DAY_DAYS: z.coerce.number().int().min(2).max(3650).default(35),
  HISTORY_MONTHS: z.coerce.number().int().min(13).max(240).default(25),
  /** Local times ("HH:MM", comma-separated) of the online rate's snapshot mode. */
  REPORT_SNAPSHOT_TIMES: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d(,([01]\d|2[0-3]):[0-5]\d)*$/, 'must be local times "HH:MM" separated by commas, e.g. "08:00,14:00,20:00"')
    .default('08:00,14:00,20:00')
    .transform((v) => [...new Set(v.split(','))].sort()),
  /** Online-rate targets per point classification (contracts/reports.ts pointClasses), percent: rows below are flagged. */
  REPORT_TARGETS: z
    .string()
    .regex(/^(key-public|industry):\d{1,3}(\.\d+)?(,(key-public|industry):\d{1,3}(\.\d+)?)*$/, 'must be "key-public:98,industry:95" (classification:percent, comma-separated)')
    .default('key-public:98,industry:95')
    .transform((v, ctx) => {
      const out: Record<string, number> = { 'key-public': 98, industry: 95 };
      for (const part of v.split(',')) {
        const [k, n] = part.split(':');
        const pct = Number(n);
        if (pct > 100) ctx.addIssue({ code: 'custom', message: `target of ${k} must be at most 100` });
        out[k] = pct;
      }
      return out as { 'key-public': number; industry: number };
    }),
  /** GB/T 28181 industry codes (digits 9–10) whose points count as key public areas; every other code is industry. */
  REPORT_KEY_PUBLIC_INDUSTRIES: z
    .string()
    .regex(/^\d{2}(,\d{2})*$/, 'must be two-digit industry codes separated by commas, e.g. "00,01,02,03,04,05,06,07"')
    .default('00,01,02,03,04,05,06,07')
    .transform((v) => [...new Set(v.split(','))].sort()),
  /** How often the online-rate sums (reports/sums.ts) are brought up to date with the history, seconds. */
  REPORT_SUMS_REFRESH_SEC: z.coerce.number().int().min(10).max(86_400).default(600),
  /** A day's sums are built once nothing was written into its history for this long (late writes), seconds. */
  REPORT_SUMS_QUIET_SEC: z.coerce.number().int().min(0).max(86_400).default(120),
  /**
   * Monthly contractor assessment (考核表): deduction tiers "hours:points" (comma-separated): a camera whose
   * month's fault time exceeds `hours` costs `points` (the highest tier it exceeds).
   */
  ASSESSMENT_DEDUCTIONS: z
    .string()
    .regex(/^\d+(\.\d+)?:\d+(\.\d+)?(,\d+(\.\d+)?:\d+(\.\d+)?)*$/, 'must be "hours:points" tiers separated by commas, e.g. "8:1" or "8:1,24:2"')
    .default('8:1')
    .transform((v, ctx) => {
      const tiers = v.split(',').map((t) => {
        const [h, p] = t.split(':').map(Number);
        return { overHours: h, points: p };
      });
      tiers.sort((a, b) => a.overHours - b.overHours);
      if (new Set(tiers.map((t) => t.overHours)).size !== tiers.length) {
        ctx.addIssue({ code: 'custom', message: 'two tiers name the same hours' });
        return z.NEVER;
      }
      return tiers;
    }),
  ASSESSMENT_FULL_SCORE: z.coerce.number().positive().max(10_000).default(100),
  /** score ≥ this: 合格 (pass). */
  ASSESSMENT_PASS_SCORE: z.coerce.number().min(0).max(10_000).default(90),
  /** score ≥ this (and below the pass score): 一般 (fair); below: 不合格 (fail). */
  ASSESSMENT_FAIR_SCORE: z.coerce.number().min(0).max(10_000).default(80),
  /** A month closes (its figures and assessment freeze as version 1) this many hours after its end in REPORT_TZ. */
  REPORT_CLOSE_GRACE_HOURS: z.coerce.number().min(0).max(24 * 31).default(24),
  /** When the scheduled monthly report looks for a month to close and deliver (node-cron, in REPORT_TZ). */
  REPORT_CLOSE_CRON: cronExpr.default('20 * * * *'),
  /** Alert channels (names, comma-separated) that receive the monthly assessment once a month closes; empty: none. */
  REPORT_MONTHLY_CHANNELS: z
    .string()
    .default('')
    .transform((s) => [...new Set(s.split(',').map((n) => n.trim()).filter(Boolean))]),
  /** Run the scheduled close and delivery (unset: on, except under NODE_ENV=test). */
  REPORT_MONTHLY_ENABLED: bool.optional(),
  /** The alert engine's clock: group waits, intervals and escalation steps are checked this often. */
  ALERTS_TICK_MS: z.coerce.number().int().min(20).max(10_000).default(1000),
  /**
   * Maintenance windows are looked at least this often (ms); the scheduler also wakes at each window's next
   * start or end, so this only bounds how late a clock jump or a busy process is noticed.
   */
  MAINTENANCE_TICK_MS: z.coerce.number().int().min(20).max(60_000).default(5000),
  METRICS_TOKEN: z.string().min(16).optional(),
  AUTH_MODE: z.enum(['required', 'open']).default('required'),
  ADMIN_USERNAME: z.string().min(3).max(64).optional(),
  ADMIN_PASSWORD: z.string().min(12).max(256).optional(),
  SESSION_TTL_HOURS: z.coerce.number().min(0.1).max(24 * 90).default(12),
  /** Absolute end of a session, counted from the login: sliding never extends one past it. */
  SESSION_ABSOLUTE_HOURS: z.coerce.number().min(0.1).max(24 * 365).default(24 * 7),
  /** Open `/live` sockets one user may hold (his sessions and API tokens together); one more is refused. */
  LIVE_SOCKETS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(20),
  /**
   * Every open socket's session or token is re-read this often (s) besides the immediate re-check on logout,
   * revocation or account changes made through this instance: catches changes made through another instance.
   */
  LIVE_SOCKET_RECHECK_SEC: z.coerce.number().int().min(1).max(86_400).default(60),
  COOKIE_SECURE: bool.default(false),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean)),
  /**
   * Which proxies may tell the client's address in X-Forwarded-For: `false` (none), a hop count (`1` = the one
   * reverse proxy in front), or a comma-separated list of proxy addresses / CIDRs (`loopback`, `uniquelocal`
   * allowed). `true` is refused: it would let every client choose its address (and dodge the login throttle).
   */
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((s, ctx): false | number | string[] => {
      const v = s.trim().toLowerCase();
      if (v === 'false' || v === 'no' || v === '0') return false;
      if (/^\d{1,2}$/.test(v)) return Number(v);
      if (v === 'true' || v === 'yes') {
        ctx.addIssue({ code: 'custom', message: 'true would let any client choose its address via X-Forwarded-For; give the number of proxy hops (e.g. 1) or the proxies\' addresses' });
        return z.NEVER;
      }
      const list = v.split(',').map((p) => p.trim()).filter(Boolean);
      for (const p of list) {
        if (['loopback', 'linklocal', 'uniquelocal'].includes(p)) continue;
        try {
          parseCidr(p);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }
      return list;
    }),
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
  /**
   * Key (32 bytes, base64 or 64 hex digits) that encrypts channel secrets at rest. Unset: a key generated at
   * first start in DATA_DIR/alerts-secret.key (mode 0600).
   */
  ALERTS_SECRET_KEY: z
    .string()
    .refine((v) => /^[0-9a-fA-F]{64}$/.test(v) || Buffer.from(v, 'base64').length === 32, 'must be 32 bytes as base64 or 64 hex digits')
    .optional(),
  /** Unset: on, except under NODE_ENV=test (tests drive their own dispatcher). */
  ALERTS_DISPATCH_ENABLED: bool.optional(),
  ALERTS_DISPATCH_TICK_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  ALERTS_SEND_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  ALERTS_LEASE_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  ALERTS_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(5000),
  ALERTS_RETRY_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(600_000),
  ALERTS_DEAD_AFTER_SEC: z.coerce.number().int().min(1).max(30 * 86_400).default(86_400),
  ALERTS_DEAD_AFTER_ATTEMPTS: z.coerce.number().int().min(1).max(10_000).default(200),
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
  if (cfg.HISTORY_DAY_DAYS < cfg.HISTORY_HOURLY_DAYS) {
    throw new ConfigError(['HISTORY_DAY_DAYS: must be at least HISTORY_HOURLY_DAYS (hourly slots live in the day documents)']);
  }
  if (cfg.ALERTS_RETRY_MAX_MS < cfg.ALERTS_RETRY_BASE_MS) {
    throw new ConfigError(['ALERTS_RETRY_MAX_MS: must be >= ALERTS_RETRY_BASE_MS']);
  }
  if (cfg.ALERTS_LEASE_MS <= cfg.ALERTS_SEND_TIMEOUT_MS) {
    throw new ConfigError(['ALERTS_LEASE_MS: must be longer than ALERTS_SEND_TIMEOUT_MS (a lease outlives the send it covers)']);
  }
  if (cfg.ASSESSMENT_PASS_SCORE < cfg.ASSESSMENT_FAIR_SCORE || cfg.ASSESSMENT_PASS_SCORE > cfg.ASSESSMENT_FULL_SCORE) {
    throw new ConfigError(['ASSESSMENT_PASS_SCORE: must lie between ASSESSMENT_FAIR_SCORE and ASSESSMENT_FULL_SCORE']);
  }
  if (cfg.AUTH_MODE === 'open' && cfg.NODE_ENV === 'production') {
    throw new ConfigError(['AUTH_MODE: "open" is for development only and refused when NODE_ENV=production']);
  }
  return { ...cfg, DATA_DIR: path.resolve(cfg.DATA_DIR) };
}
