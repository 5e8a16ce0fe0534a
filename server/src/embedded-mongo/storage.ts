/**
 * Durable storage on better-sqlite3. Durability model: WAL journal with synchronous=NORMAL. A command's
 * writes go into one SQLite transaction and are acknowledged only after COMMIT returned, at which point the
 * WAL holds them; a process crash (kill -9) cannot lose them. An OS crash or power loss may lose the last
 * transactions since the previous WAL checkpoint fsync — the same trade-off as mongod's default journal
 * commit interval. Documents are stored as BSON, keyed by (namespace, canonical _id key).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BSON } from 'bson';
import type { Doc } from './compare';
import { decodeBson, decodeFields } from './wire';

/** A rowid table: documents (~1.5 KB) stay inline in the table's leaf pages; (ns, id) is a small unique index. */
const DOCS_COLUMNS = 'ns TEXT NOT NULL, id TEXT NOT NULL, doc BLOB NOT NULL, PRIMARY KEY (ns, id)';

/** Rows per multi-row INSERT (3 parameters each, well under SQLite's 32,766-parameter limit). */
const PUT_BATCH = 100;

export type StorageOp =
  | { t: 'put'; ns: string; id: string; bytes: Uint8Array }
  | { t: 'del'; ns: string; id: string }
  | { t: 'meta'; ns: string; meta: Doc }
  | { t: 'drop'; ns: string };

export class Storage {
  private readonly db: Database.Database;
  private readonly putStmt: Database.Statement;
  private readonly putManyStmt: Database.Statement;
  private readonly delStmt: Database.Statement;
  private readonly metaStmt: Database.Statement;
  private readonly dropDocsStmt: Database.Statement;
  private readonly dropMetaStmt: Database.Statement;
  private readonly applyTx: (ops: StorageOp[]) => void;

  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.db = new Database(path.join(dir, 'store.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS collections (ns TEXT PRIMARY KEY, meta BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS docs (${DOCS_COLUMNS});
    `);
    this.migrateDocsToRowid();
    this.putStmt = this.db.prepare('INSERT OR REPLACE INTO docs (ns, id, doc) VALUES (?, ?, ?)');
    this.delStmt = this.db.prepare('DELETE FROM docs WHERE ns = ? AND id = ?');
    this.metaStmt = this.db.prepare('INSERT OR REPLACE INTO collections (ns, meta) VALUES (?, ?)');
    this.dropDocsStmt = this.db.prepare('DELETE FROM docs WHERE ns = ?');
    this.dropMetaStmt = this.db.prepare('DELETE FROM collections WHERE ns = ?');
    this.putManyStmt = this.db.prepare(`INSERT OR REPLACE INTO docs (ns, id, doc) VALUES ${Array(PUT_BATCH).fill('(?, ?, ?)').join(', ')}`);
    this.applyTx = this.db.transaction((ops: StorageOp[]) => {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i];
        switch (op.t) {
          case 'put':
            i += this.putRun(ops, i) - 1;
            break;
          case 'del':
            this.delStmt.run(op.ns, op.id);
            break;
          case 'meta':
            this.metaStmt.run(op.ns, BSON.serialize(op.meta));
            break;
          case 'drop':
            this.dropDocsStmt.run(op.ns);
            this.dropMetaStmt.run(op.ns);
            break;
        }
      }
    });
  }

  /**
   * Writes the run of puts starting at `start` (a bulk insert's documents), PUT_BATCH rows per statement
   * where possible: one SQLite statement per document was a tenth of a bulk insert's CPU. Rows of one
   * statement are applied in order, so a later put of the same id still wins. Returns how many ops it wrote.
   */
  private putRun(ops: StorageOp[], start: number): number {
    let n = 0;
    while (start + n < ops.length && ops[start + n].t === 'put') n++;
    let i = start;
    const args: unknown[] = [];
    for (; i + PUT_BATCH <= start + n; i += PUT_BATCH) {
      args.length = 0;
      for (let j = i; j < i + PUT_BATCH; j++) {
        const op = ops[j] as Extract<StorageOp, { t: 'put' }>;
        args.push(op.ns, op.id, op.bytes);
      }
      this.putManyStmt.run(args);
    }
    for (; i < start + n; i++) {
      const op = ops[i] as Extract<StorageOp, { t: 'put' }>;
      this.putStmt.run(op.ns, op.id, op.bytes);
    }
    return n;
  }

  /**
   * Stores created before documents lived in a rowid table kept them in a WITHOUT ROWID table, where a
   * row over ~1,000 bytes (a camera point is ~1,500) spills into an overflow page of its own: every
   * document cost two to three 4 KiB pages to write, to the WAL and again at the checkpoint. A rowid
   * table keeps such rows inline. The copy is one SQLite transaction, so a crash during it leaves the
   * old table in place and the next start tries again.
   */
  private migrateDocsToRowid(): void {
    const sql = this.docsTableSql();
    if (sql === undefined || !/WITHOUT\s+ROWID/i.test(sql)) return;
    this.db.transaction(() => {
      this.db.exec(`
        CREATE TABLE docs_rowid (${DOCS_COLUMNS});
        INSERT INTO docs_rowid (ns, id, doc) SELECT ns, id, doc FROM docs;
        DROP TABLE docs;
        ALTER TABLE docs_rowid RENAME TO docs;
      `);
    })();
  }

  /** Whether documents are stored in the rowid layout (tests). */
  docsTableIsRowid(): boolean {
    const sql = this.docsTableSql();
    return sql !== undefined && !/WITHOUT\s+ROWID/i.test(sql);
  }

  private docsTableSql(): string | undefined {
    const row = this.db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'docs'").get() as { sql: string } | undefined;
    return row?.sql;
  }

  /** Applies the operations in one transaction; returns only after COMMIT. */
  apply(ops: StorageOp[]): void {
    if (ops.length) this.applyTx(ops);
  }

  loadCollections(): { ns: string; meta: Doc }[] {
    const rows = this.db.prepare('SELECT ns, meta FROM collections').all() as { ns: string; meta: Buffer }[];
    return rows.map((r) => ({ ns: r.ns, meta: decodeBson(r.meta) }));
  }

  /**
   * The stored documents of `ns`, each decoded only in the top-level `fields` the indexes need (all when
   * undefined) with its full bytes attached: the collection keeps the bytes and decodes on first read.
   */
  *loadDocs(ns: string, fields?: ReadonlySet<string>): Generator<[string, Doc]> {
    const stmt = this.db.prepare('SELECT id, doc FROM docs WHERE ns = ?').raw(true);
    for (const row of stmt.iterate(ns) as Iterable<[string, Buffer]>) yield [row[0], decodeFields(row[1], fields)];
  }

  sizeOnDisk(): number {
    const pages = this.db.pragma('page_count', { simple: true });
    const size = this.db.pragma('page_size', { simple: true });
    return typeof pages === 'number' && typeof size === 'number' ? pages * size : 0;
  }

  close(): void {
    this.db.close();
  }
}
