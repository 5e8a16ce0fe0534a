/**
 * The database engine behind the wire: databases → collections in memory, persisted through Storage.
 * Commands run synchronously on the event loop, one at a time, which is what makes each write statement
 * atomic and the unique-index checks race-free without locks.
 */
import { Collection, WriteTx } from './collection';
import type { Doc } from './compare';
import { CursorStore } from './cursors';
import { CommandError } from './errors';
import type { IndexSpec } from './indexes';
import { Storage } from './storage';

export interface EngineOptions {
  dbPath: string;
  /** How often expired TTL documents are removed; mongod uses 60 s. */
  ttlIntervalMs?: number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

function splitNs(ns: string): [string, string] {
  const i = ns.indexOf('.');
  return [ns.slice(0, i), ns.slice(i + 1)];
}

export function validateCollectionName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new CommandError(73, 'InvalidNamespace', `Invalid namespace specified '${String(name)}'`);
  if (name.includes('$') || name.includes('\0') || name.startsWith('.') || name.startsWith('system.')) {
    if (!name.startsWith('system.')) throw new CommandError(73, 'InvalidNamespace', `Invalid collection name: ${name}`);
  }
  return name;
}

export class Engine {
  readonly storage: Storage;
  readonly dbs = new Map<string, Map<string, Collection>>();
  readonly cursors = new CursorStore();
  readonly startedAt = new Date();
  private readonly ttlTimer: NodeJS.Timeout;
  private readonly log: NonNullable<EngineOptions['log']>;

  constructor(opts: EngineOptions) {
    this.log = opts.log ?? (() => undefined);
    this.storage = new Storage(opts.dbPath);
    for (const { ns, meta } of this.storage.loadCollections()) {
      const [db, name] = splitNs(ns);
      const coll = new Collection(db, name, (meta.options as Doc) ?? {}, (meta.indexes as IndexSpec[]) ?? []);
      for (const [id, doc] of this.storage.loadDocs(ns, coll.fieldsIndexed())) coll.load(id, doc);
      this.database(db).set(name, coll);
    }
    this.ttlTimer = setInterval(() => this.expireTtl(), opts.ttlIntervalMs ?? 60_000);
    this.ttlTimer.unref();
  }

  database(db: string): Map<string, Collection> {
    let m = this.dbs.get(db);
    if (!m) {
      m = new Map();
      this.dbs.set(db, m);
    }
    return m;
  }

  get(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  /** The collection, created (and its creation recorded in `tx`) when missing — implicit creation on write. */
  ensure(db: string, name: string, tx: WriteTx, options: Doc = {}): Collection {
    const existing = this.get(db, name);
    if (existing) return existing;
    validateCollectionName(name);
    const coll = new Collection(db, name, options, []);
    this.database(db).set(name, coll);
    tx.ops.push({ t: 'meta', ns: coll.ns, meta: coll.meta() });
    tx.undo.push(() => this.database(db).delete(name));
    return coll;
  }

  /** Persists `tx`; on a storage failure rolls memory back and rethrows. */
  commit(tx: WriteTx): void {
    try {
      this.storage.apply(tx.ops);
    } catch (err) {
      for (let i = tx.undo.length - 1; i >= 0; i--) tx.undo[i]();
      this.log('error', 'storage commit failed', { error: (err as Error).message });
      throw new CommandError(1, 'InternalError', `storage commit failed: ${(err as Error).message}`);
    }
  }

  saveMeta(coll: Collection): void {
    this.storage.apply([{ t: 'meta', ns: coll.ns, meta: coll.meta() }]);
  }

  drop(db: string, name: string): boolean {
    const coll = this.get(db, name);
    if (!coll) return false;
    this.storage.apply([{ t: 'drop', ns: coll.ns }]);
    this.dbs.get(db)?.delete(name);
    return true;
  }

  dropDatabase(db: string): void {
    const m = this.dbs.get(db);
    if (!m) return;
    this.storage.apply([...m.values()].map((c) => ({ t: 'drop' as const, ns: c.ns })));
    this.dbs.delete(db);
  }

  expireTtl(now = new Date()): number {
    let removed = 0;
    for (const m of this.dbs.values()) {
      for (const coll of m.values()) {
        for (const ix of coll.indexes.values()) {
          const secs = ix.ttlSeconds;
          if (secs === undefined || ix.fields.length !== 1) continue;
          const expired = coll.expired(ix, new Date(now.getTime() - secs * 1000));
          if (!expired.length) continue;
          const tx = new WriteTx();
          for (const d of expired) coll.remove(d, tx);
          try {
            this.commit(tx);
            removed += expired.length;
          } catch {
            // logged by commit; retried on the next pass
          }
        }
      }
    }
    return removed;
  }

  close(): void {
    clearInterval(this.ttlTimer);
    this.cursors.close();
    this.storage.close();
  }
}
