/**
 * The embedded MongoDB-wire-compatible store: a TCP server speaking the wire protocol in front of an
 * in-memory engine persisted to SQLite (see README-embedded-mongo in the project README).
 */
import path from 'node:path';
import { Engine } from './engine';
import { lockDataDir } from './lock';
import { WireServer } from './server';

export { DataDirLockedError } from './lock';

export interface EmbeddedMongoOptions {
  /** Directory holding the data files; created if missing. Locked against a second server. */
  dbPath: string;
  /** Loopback by default. */
  host?: string;
  /** 0 = a free port. */
  port?: number;
  /** How often expired TTL documents are deleted; default 60 s like mongod's TTL monitor. */
  ttlIntervalMs?: number;
  /** Optional log sink for diagnostics. */
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export interface EmbeddedMongo {
  readonly host: string;
  readonly port: number;
  /** `mongodb://host:port/<db>` suitable for the mongodb driver and mongoose. */
  uri(dbName?: string): string;
  /** Stops accepting connections, closes open ones, flushes and closes storage, releases the lock. */
  close(): Promise<void>;
  /** Index-use counters per collection, for tests that check a query did not scan the collection. */
  stats(db: string, collection: string): { collscans: number; ixscans: number; idlookups: number; docsExamined: number } | undefined;
  /** Runs the TTL pass now (tests). Returns the number of documents removed. */
  expireNow(): number;
}

/** `mongodb://host:port/db` for a store listening on host:port (IPv6 hosts bracketed). */
export function mongoUri(host: string, port: number, dbName = 'test'): string {
  return `mongodb://${host.includes(':') ? `[${host}]` : host}:${port}/${dbName}`;
}

export async function startEmbeddedMongo(opts: EmbeddedMongoOptions): Promise<EmbeddedMongo> {
  const dbPath = path.resolve(opts.dbPath);
  const log = opts.log ?? (() => undefined);
  const lock = lockDataDir(dbPath);
  let engine: Engine;
  try {
    engine = new Engine({ dbPath, ttlIntervalMs: opts.ttlIntervalMs, log });
  } catch (err) {
    lock.release();
    throw err;
  }
  const wire = new WireServer(engine, dbPath, log);
  let addr: { host: string; port: number };
  try {
    addr = await wire.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
  } catch (err) {
    engine.close();
    lock.release();
    throw err;
  }
  log('info', 'embedded store listening', { host: addr.host, port: addr.port, dbPath });
  let closing: Promise<void> | undefined;
  return {
    host: addr.host,
    port: addr.port,
    uri: (dbName) => mongoUri(addr.host, addr.port, dbName),
    close() {
      closing ??= (async () => {
        await wire.close();
        engine.close();
        lock.release();
      })();
      return closing;
    },
    stats: (db, collection) => {
      const c = engine.get(db, collection);
      return c ? { ...c.stats } : undefined;
    },
    expireNow: () => engine.expireTtl(),
  };
}
