/**
 * Server-side cursors. Results are materialized when the cursor opens (documents are shared references to
 * the in-memory copies, which writes replace rather than mutate), then handed out in batches: the first
 * batch is 101 documents unless batchSize says otherwise, and a batch stops before the next document would
 * take the reply past 16 MiB (array keys and the reply wrapper counted; at least one document), as mongod's
 * do. An idle cursor is dropped after 10 minutes like mongod's cursorTimeoutMillis.
 */
import { Long } from 'bson';
import type { Doc } from './compare';
import { CommandError } from './errors';
import type { Projection } from './projection';
import { batchEntryBytes, bsonOf, cursorReplyBaseBytes, MAX_BSON_USER_BYTES } from './wire';

export const DEFAULT_FIRST_BATCH = 101;
export const CURSOR_IDLE_MS = 10 * 60 * 1000;

interface OpenCursor {
  id: number;
  ns: string;
  /** Documents, or stored BSON bytes not decoded yet (a raw find): both are sent as they are. */
  docs: Doc[];
  pos: number;
  project?: Projection;
  lastUsed: number;
  /** Remaining documents the client may still receive (limit), Infinity when unlimited. */
  remaining: number;
}

export class CursorStore {
  private readonly open = new Map<number, OpenCursor>();
  private nextId = Math.floor(Math.random() * 1e9) + 1;
  private readonly reaper: NodeJS.Timeout;

  constructor(idleMs = CURSOR_IDLE_MS) {
    this.reaper = setInterval(() => this.reap(idleMs), Math.min(idleMs, 60_000));
    this.reaper.unref();
  }

  private reap(idleMs: number): void {
    const cutoff = Date.now() - idleMs;
    for (const [id, c] of this.open) if (c.lastUsed < cutoff) this.open.delete(id);
  }

  private take(c: OpenCursor, batchKey: 'firstBatch' | 'nextBatch', batchSize: number | undefined): Doc[] {
    const max = Math.min(batchSize && batchSize > 0 ? batchSize : Infinity, c.remaining);
    const out: Doc[] = [];
    let bytes = cursorReplyBaseBytes(batchKey, c.ns);
    while (c.pos < c.docs.length && out.length < max) {
      const raw = c.docs[c.pos];
      const d = (c.project ? c.project.raw(raw) : raw) as Doc;
      // every batch, also one with a batchSize, stops where the reply would pass 16 MiB, as mongod's do, so
      // that it always fits in a message: counted as the wire encodes it, each document with its array entry
      // ("1999999" is 9 bytes more than a document's own); the encoding is kept on the document, the reply
      // reuses it (a document an aggregation built over the BSON limit throws 10334 here, which fails this
      // command only)
      const next = bytes + batchEntryBytes(out.length) + bsonOf(d).length;
      if (next > MAX_BSON_USER_BYTES && out.length > 0) break;
      bytes = next;
      out.push(d);
      c.pos++;
    }
    c.remaining -= out.length;
    return out;
  }

  /** The reply `cursor` document of a command that opens a cursor. */
  first(ns: string, docs: Doc[], opts: { batchSize?: number; singleBatch?: boolean; limit?: number; project?: Projection }): Doc {
    const c: OpenCursor = {
      id: 0,
      ns,
      docs,
      pos: 0,
      project: opts.project,
      lastUsed: Date.now(),
      remaining: opts.limit && opts.limit > 0 ? opts.limit : Infinity,
    };
    const batch = this.take(c, 'firstBatch', opts.batchSize ?? DEFAULT_FIRST_BATCH);
    let id = 0;
    if (!opts.singleBatch && c.pos < docs.length && c.remaining > 0) {
      id = this.nextId++;
      c.id = id;
      this.open.set(id, c);
    }
    return { firstBatch: batch, id: Long.fromNumber(id), ns };
  }

  getMore(id: number, ns: string, batchSize: number | undefined): Doc {
    const c = this.open.get(id);
    if (!c) throw new CommandError(43, 'CursorNotFound', `cursor id ${id} not found`);
    if (c.ns !== ns) throw new CommandError(13, 'Unauthorized', `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${c.ns}`);
    c.lastUsed = Date.now();
    let batch: Doc[];
    try {
      batch = this.take(c, 'nextBatch', batchSize);
    } catch (err) {
      // mongod kills a cursor whose getMore failed
      this.open.delete(id);
      throw err;
    }
    const done = c.pos >= c.docs.length || c.remaining <= 0;
    if (done) this.open.delete(id);
    return { nextBatch: batch, id: Long.fromNumber(done ? 0 : id), ns };
  }

  kill(ids: number[]): { killed: number[]; notFound: number[] } {
    const killed: number[] = [];
    const notFound: number[] = [];
    for (const id of ids) (this.open.delete(id) ? killed : notFound).push(id);
    return { killed, notFound };
  }

  get size(): number {
    return this.open.size;
  }

  close(): void {
    clearInterval(this.reaper);
    this.open.clear();
  }
}
