/**
 * The embedded MongoDB-wire-compatible store: a server speaking the wire protocol (on TCP, or on a Unix
 * domain socket only its user can open) in front of an in-memory engine persisted to SQLite (see
 * docs/embedded-store.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ScramAuthenticator, type Credential } from './auth';
import { Engine } from './engine';
import { lockDataDir } from './lock';
import { WireServer, type ListenAddress } from './server';

export { DataDirLockedError } from './lock';

export interface EmbeddedMongoOptions {
  /** Directory holding the data files; created if missing. Locked against a second server. */
  dbPath: string;
  /** Loopback by default. */
  host?: string;
  /** 0 = a free port. */
  port?: number;
  /**
   * Listen on this Unix domain socket instead of TCP (host and port are ignored): the file gets mode 0600
   * and must lie in `dbPath`, which is kept private (0700), so only this user can connect.
   */
  socketPath?: string;
  /**
   * Require every connection to authenticate as this user (SCRAM-SHA-256, user `admin.<user>`). A function
   * is called once the data directory is locked (npm run db reads or writes the credential file there).
   */
  auth?: Credential | (() => Credential);
  /** How often expired TTL documents are deleted; default 60 s like mongod's TTL monitor. */
  ttlIntervalMs?: number;
  /** Optional log sink for diagnostics. */
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export interface EmbeddedMongo {
  /** The TCP host, or the socket file's path when listening on a Unix socket. */
  readonly host: string;
  /** The TCP port; 0 on a Unix socket. */
  readonly port: number;
  /** The Unix socket's path, when it listens on one. */
  readonly socketPath?: string;
  /** `mongodb://host:port/<db>` (or `mongodb://<encoded socket path>/<db>`) for the mongodb driver and mongoose; no credentials. */
  uri(dbName?: string): string;
  /** Stops accepting connections, closes open ones, flushes and closes storage, releases the lock. */
  close(): Promise<void>;
  /**
   * Index-use counters per collection, for tests that check a query did not scan the collection, and how many
   * documents were decoded whole (tests that check a command read only some fields).
   */
  stats(db: string, collection: string): { collscans: number; ixscans: number; idlookups: number; docsExamined: number; docsDecoded: number } | undefined;
  /** Runs the TTL pass now (tests). Returns the number of documents removed. */
  expireNow(): number;
}

/** `mongodb://host:port/db` for a store listening on host:port (IPv6 hosts bracketed), or on a Unix socket. */
export function mongoUri(addr: ListenAddress, dbName = 'test'): string {
  if ('socketPath' in addr) return `mongodb://${encodeURIComponent(addr.socketPath)}/${dbName}`;
  return `mongodb://${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}/${dbName}`;
}

/** sun_path holds 108 bytes on Linux (104 on macOS), the terminating 0 included. */
const MAX_SOCKET_PATH_BYTES = 103;

/**
 * Makes `dir` a directory only this user can enter (0700): the data files and the Unix socket inside it
 * are then out of other local users' reach whatever their own modes. Refuses a directory owned by another
 * user (who could swap files under us) or a symlink.
 */
function ensurePrivateDir(dir: string, log: NonNullable<EmbeddedMongoOptions['log']>): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`data directory ${dir} is not a directory (a symlink is not accepted)`);
  const uid = process.getuid?.();
  if (uid === undefined) return;
  if (st.uid !== uid) throw new Error(`data directory ${dir} belongs to uid ${st.uid}, not to this process (uid ${uid})`);
  if (st.mode & 0o077) {
    fs.chmodSync(dir, 0o700);
    log('warn', 'data directory was readable by other users: mode set to 0700', { dbPath: dir, was: (st.mode & 0o777).toString(8) });
  }
}

function checkSocketPath(socketPath: string, dbPath: string): void {
  if (path.dirname(socketPath) !== dbPath) throw new Error(`the store's socket ${socketPath} must lie directly in its data directory ${dbPath}`);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new Error(`the store's socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes (a Unix socket limit): choose a shorter DATA_DIR`);
  }
}

export async function startEmbeddedMongo(opts: EmbeddedMongoOptions): Promise<EmbeddedMongo> {
  const dbPath = path.resolve(opts.dbPath);
  const log = opts.log ?? (() => undefined);
  const socketPath = opts.socketPath === undefined ? undefined : path.resolve(opts.socketPath);
  if (socketPath) checkSocketPath(socketPath, dbPath);
  ensurePrivateDir(dbPath, log);
  const lock = lockDataDir(dbPath);
  let engine: Engine;
  let auth: Credential | undefined;
  try {
    auth = typeof opts.auth === 'function' ? opts.auth() : opts.auth;
    engine = new Engine({ dbPath, ttlIntervalMs: opts.ttlIntervalMs, log });
  } catch (err) {
    lock.release();
    throw err;
  }
  const wire = new WireServer(engine, dbPath, log, auth && new ScramAuthenticator(auth));
  let addr: ListenAddress;
  try {
    // we hold the directory's lock: a socket file there is a dead store's leftover
    if (socketPath) fs.rmSync(socketPath, { force: true });
    addr = await wire.listen(socketPath ? { socketPath } : { host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  } catch (err) {
    engine.close();
    lock.release();
    throw err;
  }
  log('info', 'embedded store listening', { ...addr, dbPath, auth: Boolean(auth) });
  let closing: Promise<void> | undefined;
  return {
    host: 'socketPath' in addr ? addr.socketPath : addr.host,
    port: 'socketPath' in addr ? 0 : addr.port,
    socketPath: 'socketPath' in addr ? addr.socketPath : undefined,
    uri: (dbName) => mongoUri(addr, dbName),
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
      return c ? { ...c.stats, docsDecoded: c.docs.fullDecodes } : undefined;
    },
    expireNow: () => engine.expireTtl(),
  };
}
