import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Long, MongoClient, MongoServerError, type Db, type MongoClientOptions } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../server/src/embedded-mongo';

/**
 * The store under test: a real MongoDB when MONGODB_URI is set (a unique database per suite file,
 * dropped afterwards), otherwise the embedded store in a fresh temp directory on a free port.
 */
export interface Target {
  readonly kind: 'embedded' | 'mongodb';
  readonly dbName: string;
  /** URI with the suite's database name as path. */
  readonly uri: string;
  readonly client: MongoClient;
  readonly db: Db;
  /** Only for the embedded store. */
  readonly embedded?: EmbeddedMongo;
  readonly dbPath?: string;
  /** Another independent client (own connection pool); closed with the target. */
  newClient(opts?: MongoClientOptions): Promise<MongoClient>;
}

export const realMongo = Boolean(process.env.MONGODB_URI);

function uniqueDbName(label: string): string {
  return `vigil_conf_${label}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
}

export function withDbName(uri: string, dbName: string): string {
  const u = new URL(uri);
  u.pathname = `/${dbName}`;
  return u.toString();
}

export async function openTarget(label: string): Promise<Target> {
  const dbName = uniqueDbName(label);
  const extraClients: MongoClient[] = [];
  let embedded: EmbeddedMongo | undefined;
  let dbPath: string | undefined;
  let baseUri: string;
  if (process.env.MONGODB_URI) {
    baseUri = process.env.MONGODB_URI;
  } else {
    dbPath = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-conf-'));
    // mongod's TTL monitor runs every 60 s; the embedded one is made fast so the TTL case stays quick
    embedded = await startEmbeddedMongo({ dbPath, host: '127.0.0.1', port: 0, ttlIntervalMs: 200 });
    baseUri = embedded.uri(dbName);
  }
  const uri = withDbName(baseUri, dbName);
  const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 5000 });
  const target: Target & { close(): Promise<void> } = {
    kind: embedded ? 'embedded' : 'mongodb',
    dbName,
    uri,
    client,
    db: client.db(dbName),
    embedded,
    dbPath,
    async newClient(opts) {
      const c = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 5000, ...opts });
      extraClients.push(c);
      return c;
    },
    async close() {
      await Promise.all(extraClients.map((c) => c.close().catch(() => undefined)));
      if (!embedded) await client.db(dbName).dropDatabase().catch(() => undefined);
      await client.close().catch(() => undefined);
      await embedded?.close();
      if (dbPath) fs.rmSync(dbPath, { recursive: true, force: true });
    },
  };
  return target;
}

/**
 * Registers before/after hooks in the calling describe block and returns an accessor for the target.
 * One target per suite file keeps files independent and lets mocha run them in any order.
 */
export function useTarget(label: string): () => Target {
  let target: (Target & { close(): Promise<void> }) | undefined;
  before(async function () {
    this.timeout(30_000);
    target = (await openTarget(label)) as Target & { close(): Promise<void> };
  });
  after(async function () {
    this.timeout(30_000);
    await target?.close();
  });
  return () => {
    if (!target) throw new Error('target not open');
    return target;
  };
}

/** Runs fn and returns the server error it must throw. */
export async function serverError(fn: () => Promise<unknown>): Promise<MongoServerError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof MongoServerError) return err;
    throw err;
  }
  throw new Error('expected a MongoServerError, the operation succeeded');
}

/** Cursor ids must go back to the server as int64 even when the driver promoted a small one to a number. */
export function asLong(id: unknown): Long {
  if (id instanceof Long) return id;
  if (typeof id === 'number') return Long.fromNumber(id);
  if (typeof id === 'bigint') return Long.fromBigInt(id);
  throw new Error(`not a cursor id: ${String(id)}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
