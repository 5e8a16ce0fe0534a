import pino from 'pino';
import { prettyFactory } from 'pino-pretty';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const logLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const satisfies readonly LogLevel[];

/** json: one object per line (log shippers); pretty: readable lines for a person; auto: see `resolveLogFormat`. */
export type LogFormat = 'json' | 'pretty';
export const logFormats = ['auto', 'json', 'pretty'] as const;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: (typeof logFormats)[number];
  /** NODE_ENV=production: `auto` is always JSON. */
  production?: boolean;
  bindings?: Record<string, unknown>;
  /** Where lines go (tests capture them); default stderr, where logs have always gone (stdout carries the start-up banner). */
  write?: (line: string) => void;
}

/**
 * `auto`: JSON lines under NODE_ENV=production or when the log stream is not a terminal (a pipe, a file,
 * systemd, docker), readable lines when a person watches it (a first `npm start`).
 */
export function resolveLogFormat(format: LoggerOptions['format'], env: { production: boolean; terminal: boolean }): LogFormat {
  if (format === 'json' || format === 'pretty') return format;
  return env.production || !env.terminal ? 'json' : 'pretty';
}

/**
 * The one logger of Vigil (pino underneath). Every field, binding and message passes `redact` first, so
 * passwords, tokens, cookies and credentials in URLs never reach the log, whatever a caller hands in.
 *
 * `createLogger(level, bindings?, write?)` is the short form; `createLogger({ level, format, production })`
 * is what main wires from config (LOG_LEVEL, LOG_FORMAT, NODE_ENV).
 */
export function createLogger(levelOrOptions: LogLevel | LoggerOptions = 'info', bindings: Record<string, unknown> = {}, write?: (line: string) => void): Logger {
  const o: LoggerOptions = typeof levelOrOptions === 'string' ? { level: levelOrOptions, bindings, write } : levelOrOptions;
  const terminal = !o.write && Boolean(process.stderr.isTTY);
  const format = resolveLogFormat(o.format ?? 'auto', { production: o.production ?? process.env.NODE_ENV === 'production', terminal });
  const sink: { write(line: string): unknown } = o.write ? { write: o.write } : process.stderr;
  // pretty: each JSON line is rendered in place (synchronously, no worker thread or stream pipeline)
  const prettify = format === 'pretty' ? prettyFactory({ colorize: terminal, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) : null;
  const stream = prettify ? { write: (line: string) => sink.write(prettify(line)) } : sink;
  const root = pino(
    {
      level: o.level ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      // errors are already plain objects (redactFields); pino's own `err` serializer would re-type them
      serializers: { err: (e: unknown) => e },
      // JSON keeps the level's name ("level":"warn") as Vigil's logs always had; pretty wants pino's numbers
      ...(format === 'json' ? { formatters: { level: (label: string) => ({ level: label }) } } : {}),
    },
    stream,
  );
  return wrap(o.bindings && Object.keys(o.bindings).length ? root.child(redactFields(o.bindings)) : root);
}

function wrap(p: pino.Logger): Logger {
  const at =
    (lvl: Exclude<LogLevel, 'silent'>) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (!p.isLevelEnabled(lvl)) return;
      if (fields) p[lvl](redactFields(fields), redactText(msg));
      else p[lvl](redactText(msg));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => wrap(p.child(redactFields(b))) };
}

export const REDACTED = '[redacted]';

/** Keys whose values are secrets wherever they sit (headers, bodies, options, config). */
const SECRET_KEY = /(pass(word|wd)?|pwd|pass(word)?[-_]?hash|secret|token|authorization|cookie|api[-_]?key|credentials?|private[-_]?key)$/i;

/** Secrets inside free text: auth schemes, user:password@ in URLs, secret query parameters. */
const SECRET_TEXT: Array<[RegExp, string]> = [
  [/\b(Bearer|Basic|Digest)\s+[^\s,;"]+/gi, `$1 ${REDACTED}`],
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s@/]*@/gi, `$1:${REDACTED}@`],
  [/([?&;](?:[a-z_-]*(?:token|secret|password|passwd|key|sig|signature)))=[^&\s#"]*/gi, `$1=${REDACTED}`],
];

export function redactText(s: string): string {
  let out = s;
  for (const [re, by] of SECRET_TEXT) out = out.replace(re, by);
  return out;
}

/** A copy of `fields` with secrets censored (plain objects and arrays are walked; errors become plain objects). */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactValue(fields, 0, new WeakSet()) as Record<string, unknown>;
}

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value) || depth > 8) return '[…]';
  if (value instanceof Error) {
    seen.add(value);
    const e = value as Error & { code?: unknown; cause?: unknown };
    return {
      type: e.name,
      message: redactText(e.message),
      ...(e.code !== undefined ? { code: e.code } : {}),
      ...(e.stack ? { stack: redactText(e.stack) } : {}),
      ...(e.cause !== undefined ? { cause: redactValue(e.cause, depth + 1, seen) } : {}),
    };
  }
  if (Array.isArray(value)) {
    seen.add(value);
    return value.map((v) => redactValue(v, depth + 1, seen));
  }
  const proto: unknown = Object.getPrototypeOf(value);
  // class instances (Date, ObjectId, Buffer…) carry their own JSON form and no secret keys
  if (proto !== Object.prototype && proto !== null) return value;
  seen.add(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v !== null && v !== undefined && v !== '' ? REDACTED : redactValue(v, depth + 1, seen);
  return out;
}
