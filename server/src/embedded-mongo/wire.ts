/**
 * MongoDB wire protocol framing (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/):
 * OP_MSG both ways, the legacy OP_QUERY handshake in, OP_REPLY out. No compression is advertised, so
 * OP_COMPRESSED never arrives.
 */
import { BSON } from 'bson';
import type { Doc } from './compare';
import { CommandError, formatValue } from './errors';
import { decodeTyped } from './numbers';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;

export const FLAG_CHECKSUM_PRESENT = 1;
export const FLAG_MORE_TO_COME = 2;
export const FLAG_EXHAUST_ALLOWED = 1 << 16;

const HEADER = 16;
/** The limit advertised in hello; a larger frame is a protocol error. */
export const MAX_MESSAGE_BYTES = 48_000_000;
/** mongod's BSONObjMaxUserSize (hello's maxBsonObjectSize): no stored document may be larger. */
export const MAX_BSON_USER_BYTES = 16 * 1024 * 1024;
/**
 * mongod's BSONObjMaxInternalSize: the largest BSON object it reads from a message or builds for a reply
 * (a command around a document of the user maximum still fits).
 */
export const MAX_BSON_INTERNAL_BYTES = MAX_BSON_USER_BYTES + 16 * 1024;

// every decode keeps numeric types recoverable (numbers.ts): Int64 → Long, Double 3.0 → bson Double
const serializeOptions = { ignoreUndefined: false };

/**
 * The BSON encoding of a stored document: the exact bytes it arrived in (inserted documents) or was read
 * from disk in, else its serialization at write time. Storage writes these bytes and cursor replies splice
 * them in, so reads cost no serialization and keep the client's numeric types (a Double 7.0 or an Int64 1
 * stays one, although the in-memory copy holds plain JS numbers for matching). Stored document objects
 * are never mutated (updates replace them), which keeps this cache valid.
 */
const BYTES = Symbol('bson');

/**
 * Kept on the document itself under a non-enumerable symbol, invisible to BSON.serialize, mingo, spread
 * and Object.keys. (A WeakMap with one entry per stored document made every major GC walk an ephemeron
 * table of that size.)
 */
export const rawBson = {
  get(doc: Doc): Buffer | undefined {
    return (doc as { [BYTES]?: Buffer })[BYTES];
  },
  set(doc: Doc, bytes: Buffer): void {
    Object.defineProperty(doc, BYTES, { value: bytes, enumerable: false, writable: true, configurable: true });
  },
};

export function bsonOf(doc: Doc): Buffer {
  if (doc instanceof Uint8Array) return doc as unknown as Buffer;
  let b = rawBson.get(doc);
  if (!b) {
    b = serializeBson(doc);
    rawBson.set(doc, b);
  }
  return b;
}

/**
 * mongod's BSONObjectTooLarge (10334) for an object of `size` bytes, naming its first element as mongod
 * does (`BSONObj size: 18874400 (0x1200020) is invalid. Size must be between 0 and 16793600(16MB) First
 * element: _id: 1`).
 */
export function bsonObjectTooLarge(size: number, first: string): CommandError {
  return new CommandError(
    10334,
    'BSONObjectTooLarge',
    `BSONObj size: ${size} (0x${size.toString(16).toUpperCase()}) is invalid. Size must be between 0 and ${MAX_BSON_INTERNAL_BYTES}(16MB) First element: ${first}`,
  );
}

/** `name: value` of a document's first element, cut short: the value may be the oversized part. */
function firstElementOf(doc: Doc): string {
  for (const k in doc) {
    const v = doc[k];
    const text = `${k}: ${typeof v === 'string' && v.length > 100 ? JSON.stringify(v.slice(0, 100)) + '...' : formatValue(v)}`;
    return text.length > 200 ? text.slice(0, 200) + '...' : text;
  }
  return 'EOO';
}

/** `name: value` of the first element of BSON bytes, for error messages; decodes that element only. */
export function firstElementText(bytes: Buffer): string {
  if (bytes.length < 6 || bytes[4] === 0) return 'EOO';
  const e = elementEnd(bytes, 4);
  if (e <= 4 || e >= bytes.length) return '?';
  const mini = Buffer.alloc(e - 4 + 5);
  mini.writeInt32LE(mini.length, 0);
  bytes.copy(mini, 4, 4, e);
  try {
    return firstElementOf(decodeBson(mini));
  } catch {
    return '?';
  }
}

/**
 * BSON.serialize, refusing instead of corrupting: js-bson writes into one shared 17 MB buffer and, past its
 * end, either throws a RangeError or silently drops bytes (a string that crosses the end comes out
 * truncated). No object larger than MAX_BSON_INTERNAL_BYTES is ever produced; it is refused with 10334.
 */
export function serializeBson(doc: Doc): Buffer {
  let out: Uint8Array | undefined;
  try {
    out = BSON.serialize(doc, serializeOptions);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    const size = BSON.calculateObjectSize(doc, serializeOptions);
    if (size <= MAX_BSON_INTERNAL_BYTES) throw err;
    throw bsonObjectTooLarge(size, firstElementOf(doc));
  }
  // anything that went past the serializer's buffer is longer than it; the bytes are then not the document
  if (out.length > MAX_BSON_INTERNAL_BYTES) throw bsonObjectTooLarge(BSON.calculateObjectSize(doc, serializeOptions), firstElementOf(doc));
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}

/**
 * Moves a trailing ObjectId `_id` element to the front of a BSON document. Drivers append the generated
 * _id last; mongod (and this store) keeps _id first. Only valid when the document's last field is known to
 * be an ObjectId _id (a 17-byte element: type, "_id\0", 12 bytes).
 */
export function moveTrailingIdFirst(raw: Buffer, into?: Buffer): Buffer | undefined {
  const n = raw.length;
  const start = n - 1 - 17;
  if (start < 4 || raw[start] !== 0x07 || raw[start + 1] !== 0x5f || raw[start + 2] !== 0x69 || raw[start + 3] !== 0x64 || raw[start + 4] !== 0) {
    return undefined;
  }
  const out = into ?? Buffer.allocUnsafe(n);
  raw.copy(out, 0, 0, 4);
  raw.copy(out, 4, start, n - 1);
  raw.copy(out, 4 + 17, 4, start);
  out[n - 1] = 0;
  return out;
}

/**
 * For an `insert` body only: its `documents` stay raw and are decoded per document. `fieldsAsRaw` applies
 * at every depth, so any other command (an update setting a field named `documents`, a filter on one) is
 * decoded normally.
 */
const insertBodyOptions = { fieldsAsRaw: { documents: true } };

/** Whether a command body's first element — the command name — is `insert`. */
function isInsertBody(body: Buffer): boolean {
  return body.length > 11 && body.toString('latin1', 5, 12) === 'insert\0';
}

/** End offset of the top-level element starting at `p` (its type byte), or -1 for a type it cannot skip. */
function elementEnd(b: Buffer, p: number): number {
  const type = b[p];
  const nameEnd = b.indexOf(0, p + 1);
  if (nameEnd < 0) return -1;
  p = nameEnd + 1;
  switch (type) {
    case 0x01: case 0x09: case 0x11: case 0x12:
      return p + 8;
    case 0x02: case 0x0d: case 0x0e:
      return p + 4 + b.readInt32LE(p);
    case 0x03: case 0x04: case 0x0f:
      return p + b.readInt32LE(p);
    case 0x05:
      return p + 5 + b.readInt32LE(p);
    case 0x07:
      return p + 12;
    case 0x08:
      return p + 1;
    case 0x10:
      return p + 4;
    case 0x13:
      return p + 16;
    case 0x06: case 0x0a: case 0xff: case 0x7f:
      return p;
    case 0x0b: {
      const e1 = b.indexOf(0, p);
      return e1 < 0 ? -1 : b.indexOf(0, e1 + 1) + 1;
    }
    case 0x0c:
      return p + 4 + b.readInt32LE(p) + 12;
    default:
      return -1;
  }
}

/** Byte offset of the last top-level element of a BSON document, or -1 for a type it cannot skip. */
function lastElementOffset(b: Buffer): number {
  const end = b.length - 1;
  let p = 4;
  let last = -1;
  while (p < end) {
    last = p;
    p = elementEnd(b, p);
    if (p <= 0) return -1;
  }
  return p === end ? last : -1;
}

/**
 * An inserted document whose bytes already start with its `_id`, not decoded yet: the insert command
 * decodes only the fields the collection's indexes need (see decodeFields), because nothing else of the
 * document is read before it is stored as these bytes.
 */
export class InsertBytes {
  constructor(readonly bytes: Buffer) {}
}

const ID_ELEMENT_NAME = Buffer.from('_id\0', 'latin1');

/** Bytes whose first element is `_id` of a type an insert accepts as is (not array, undefined or regex). */
function startsWithId(b: Buffer): boolean {
  return b.length > 9 && b[4] !== 0x04 && b[4] !== 0x06 && b[4] !== 0x0b && b.compare(ID_ELEMENT_NAME, 0, 4, 5, 9) === 0;
}

/**
 * The top-level fields `names` (plus `_id`, which must be the first element) of a BSON document, decoded
 * from one small document assembled from their elements; the full bytes are attached as the document's
 * encoding. `names` undefined, or bytes it cannot walk, decode everything.
 */
export function decodeFields(bytes: Buffer, names: ReadonlySet<string> | undefined): Doc {
  const end = bytes.length - 1;
  const wanted = names && nameBytes(names);
  const picked: number[] = [];
  let size = 5;
  let p = 4;
  while (wanted && p < end) {
    const e = elementEnd(bytes, p);
    if (e <= p || e > end) break;
    if (p === 4 || isWanted(bytes, p + 1, wanted)) {
      picked.push(p, e);
      size += e - p;
    }
    p = e;
  }
  let doc: Doc;
  if (!wanted || p !== end) doc = decodeBson(bytes);
  else {
    doc = decodeBson(joinRuns(bytes, picked, size));
  }
  rawBson.set(doc, bytes);
  return doc;
}

/**
 * The BSON document without its top-level fields `names`, by copying the other elements' bytes (no
 * decoding). Undefined for bytes it cannot walk.
 */
export function omitFields(bytes: Buffer, names: ReadonlySet<string>): Buffer | undefined {
  const unwanted = nameBytes(names);
  return keepElements(bytes, (p) => !isWanted(bytes, p + 1, unwanted));
}

/**
 * The BSON document with only its first element (`_id`, unless `dropId`) and its top-level fields `names`, in
 * document order, by copying their bytes (no decoding): an inclusion projection of top-level fields. Undefined
 * for bytes it cannot walk, or whose first element is not `_id`.
 */
export function pickFields(bytes: Buffer, names: ReadonlySet<string>, dropId: boolean): Buffer | undefined {
  const wanted = nameBytes(names);
  if (bytes.length - 1 < 4 || !isWanted(bytes, 5, ID_NAME)) return undefined;
  return keepElements(bytes, (p) => (p === 4 ? !dropId : isWanted(bytes, p + 1, wanted)));
}

/** The document of the top-level elements `keep` (given each one's offset) chooses, their bytes copied in order; undefined for bytes it cannot walk. */
function keepElements(bytes: Buffer, keep: (p: number) => boolean): Buffer | undefined {
  const end = bytes.length - 1;
  const kept: number[] = [];
  let size = 5;
  let p = 4;
  while (p < end) {
    const e = elementEnd(bytes, p);
    if (e <= p || e > end) return undefined;
    if (keep(p)) {
      // adjacent kept elements are copied as one run
      if (kept.length && kept[kept.length - 1] === p) kept[kept.length - 1] = e;
      else kept.push(p, e);
      size += e - p;
    }
    p = e;
  }
  if (p !== end) return undefined;
  if (size === bytes.length) return bytes;
  return joinRuns(bytes, kept, size);
}

/** A BSON document of `size` bytes made of the byte runs [kept[i], kept[i+1]) of `bytes`. */
function joinRuns(bytes: Buffer, kept: readonly number[], size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  out.writeInt32LE(size, 0);
  let o = 4;
  for (let i = 0; i < kept.length; i += 2) o += bytes.copy(out, o, kept[i], kept[i + 1]);
  out[o] = 0;
  return out;
}

const ID_NAME = [Buffer.from('_id\0', 'utf8')];

/** Each name as its UTF-8 bytes plus the terminating 0, so element names are matched without decoding them. */
const nameBytesCache = new WeakMap<ReadonlySet<string>, Buffer[]>();
function nameBytes(names: ReadonlySet<string>): Buffer[] {
  let list = nameBytesCache.get(names);
  if (!list) {
    list = [...names].map((n) => Buffer.from(n + '\0', 'utf8'));
    nameBytesCache.set(names, list);
  }
  return list;
}

function isWanted(b: Buffer, nameStart: number, wanted: Buffer[]): boolean {
  for (const w of wanted) {
    if (nameStart + w.length <= b.length && b[nameStart] === w[0] && b.compare(w, 0, w.length, nameStart, nameStart + w.length) === 0) return true;
  }
  return false;
}

/**
 * An inserted document: drivers append a generated ObjectId `_id` as the last field, mongod stores _id
 * first. Moving those 17 bytes gives _id-first bytes to store; the copy also detaches them from the
 * (possibly 48 MB) frame. Bytes that start with _id are left for the insert command to decode partially.
 */
function decodeInserted(bytes: Buffer, own: Buffer = Buffer.allocUnsafe(bytes.length)): Doc | InsertBytes {
  const last = lastElementOffset(bytes);
  const isTrailingId =
    last === bytes.length - 18 && bytes[last] === 0x07 && bytes[last + 1] === 0x5f && bytes[last + 2] === 0x69 && bytes[last + 3] === 0x64 && bytes[last + 4] === 0;
  if (!(isTrailingId && last > 4 && moveTrailingIdFirst(bytes, own))) bytes.copy(own);
  if (last >= 0 && startsWithId(own)) return new InsertBytes(own);
  const doc = decodeBson(own);
  rawBson.set(doc, own);
  return doc;
}

/**
 * The documents of one insert message, copied into ONE allocation (the store keeps each document's bytes
 * as a view of it): a copy per document from Node's 8 KB pool made a new pool buffer every few camera
 * points and was a visible part of a bulk import.
 */
function decodeInsertedAll(list: Buffer[]): (Doc | InsertBytes)[] {
  let total = 0;
  for (const b of list) total += b.length;
  const slab = Buffer.allocUnsafeSlow(total);
  let o = 0;
  return list.map((b) => {
    const own = slab.subarray(o, o + b.length);
    o += b.length;
    return decodeInserted(b, own);
  });
}

export function decodeBson(buf: Uint8Array): Doc {
  return decodeTyped(buf);
}

export interface IncomingMessage {
  opCode: number;
  requestId: number;
  flags: number;
  /** Command document with kind-1 document sequences merged in as arrays under their identifiers. */
  command: Doc;
  /** For OP_QUERY: the full collection name (`admin.$cmd`). */
  queryNs?: string;
  /** A well-formed message the store refuses to run (a BSON object over the size limit): answered with this error. */
  refused?: CommandError;
}

/**
 * A frame the store cannot read (bad length, section kind or BSON, truncated): the connection that sent
 * it is closed, as mongod does; nothing of it is executed.
 */
export class ProtocolError extends Error {}

/** Splits a byte stream into whole messages without quadratic re-concatenation of large frames. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.length < 4) break;
      const head = this.chunks[0].length >= 4 ? this.chunks[0] : this.collapse();
      const size = head.readInt32LE(0);
      if (size < HEADER || size > MAX_MESSAGE_BYTES) throw new ProtocolError(`invalid message length ${size}`);
      if (this.length < size) break;
      const all = this.chunks.length === 1 ? this.chunks[0] : this.collapse();
      frames.push(all.subarray(0, size));
      const rest = all.subarray(size);
      this.chunks = rest.length ? [rest] : [];
      this.length = rest.length;
    }
    return frames;
  }

  private collapse(): Buffer {
    const all = Buffer.concat(this.chunks, this.length);
    this.chunks = [all];
    return all;
  }
}

/** The BSON document starting at `pos`, which must end (with its 0 terminator) by `end`. */
function bsonAt(frame: Buffer, pos: number, end: number, what: string): Buffer {
  if (pos + 5 > end) throw new ProtocolError(`${what} truncated`);
  const len = frame.readInt32LE(pos);
  if (len < 5 || len > end - pos) throw new ProtocolError(`${what} has invalid length ${len} (${end - pos} bytes left)`);
  if (frame[pos + len - 1] !== 0) throw new ProtocolError(`${what} does not end with a 0 byte`);
  return frame.subarray(pos, pos + len);
}

/** mongod reads no BSON object above its internal maximum: the command is answered with 10334. */
function tooLarge(docs: Buffer[]): CommandError | undefined {
  for (const d of docs) if (d.length > MAX_BSON_INTERNAL_BYTES) return bsonObjectTooLarge(d.length, firstElementText(d));
  return undefined;
}

/** Runs a decoder over bytes that passed the framing checks; what it cannot decode is a protocol error. */
function decoding<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    throw new ProtocolError(`invalid BSON in ${what}: ${(err as Error).message}`);
  }
}

export function parseMessage(frame: Buffer): IncomingMessage {
  if (frame.length < HEADER) throw new ProtocolError(`message of ${frame.length} bytes is shorter than its header`);
  const requestId = frame.readInt32LE(4);
  const opCode = frame.readInt32LE(12);
  if (opCode === OP_MSG) return parseOpMsg(frame, requestId);
  if (opCode === OP_QUERY) return parseOpQuery(frame, requestId);
  throw new ProtocolError(`unsupported opCode ${opCode}`);
}

/** flagBits 0-15 are required: a receiver must refuse a message with one it does not know. */
const KNOWN_REQUIRED_FLAGS = FLAG_CHECKSUM_PRESENT | FLAG_MORE_TO_COME;

function parseOpMsg(frame: Buffer, requestId: number): IncomingMessage {
  if (frame.length < HEADER + 5) throw new ProtocolError('OP_MSG without flags and a section');
  const flags = frame.readUInt32LE(HEADER);
  if (flags & 0xffff & ~KNOWN_REQUIRED_FLAGS) throw new ProtocolError(`OP_MSG with unknown required flag bits 0x${(flags & 0xffff).toString(16)}`);
  const end = flags & FLAG_CHECKSUM_PRESENT ? frame.length - 4 : frame.length;
  let pos = HEADER + 4;
  let body: Buffer | undefined;
  const sequences: [string, Buffer[]][] = [];
  while (pos < end) {
    const kind = frame[pos++];
    if (kind === 0) {
      if (body) throw new ProtocolError('OP_MSG with more than one body section');
      body = bsonAt(frame, pos, end, 'OP_MSG body');
      pos += body.length;
    } else if (kind === 1) {
      if (pos + 4 > end) throw new ProtocolError('OP_MSG document sequence truncated');
      const size = frame.readInt32LE(pos);
      if (size < 5 || size > end - pos) throw new ProtocolError(`OP_MSG document sequence has invalid length ${size}`);
      const sectionEnd = pos + size;
      const nameEnd = frame.indexOf(0, pos + 4);
      if (nameEnd < 0 || nameEnd >= sectionEnd) throw new ProtocolError('OP_MSG document sequence without an identifier');
      const identifier = frame.toString('utf8', pos + 4, nameEnd);
      const raw: Buffer[] = [];
      // every document is at least 5 bytes long, so this walk always ends
      for (let p = nameEnd + 1; p < sectionEnd; p += raw[raw.length - 1].length) raw.push(bsonAt(frame, p, sectionEnd, `document in sequence '${identifier}'`));
      sequences.push([identifier, raw]);
      pos = sectionEnd;
    } else {
      throw new ProtocolError(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new ProtocolError('OP_MSG without a body section');
  const refused = tooLarge([body, ...sequences.flatMap(([, docs]) => docs)]);
  if (refused) return { opCode: OP_MSG, requestId, flags, command: {}, refused };
  const command = decoding('OP_MSG body', (): Doc => {
    if (!isInsertBody(body)) return decodeTyped<Doc>(body);
    const cmd = decodeTyped<Doc>(body, insertBodyOptions);
    if (Array.isArray(cmd.documents)) cmd.documents = decodeInsertedAll(cmd.documents as Buffer[]);
    return cmd;
  });
  for (const [identifier, raw] of sequences) {
    command[identifier] = decoding(`document sequence '${identifier}'`, () => (identifier === 'documents' ? decodeInsertedAll(raw) : raw.map((b) => decodeBson(b))));
  }
  return { opCode: OP_MSG, requestId, flags, command };
}

function parseOpQuery(frame: Buffer, requestId: number): IncomingMessage {
  if (frame.length < HEADER + 4) throw new ProtocolError('OP_QUERY without flags');
  const flags = frame.readUInt32LE(HEADER);
  const nsEnd = frame.indexOf(0, HEADER + 4);
  if (nsEnd < 0) throw new ProtocolError('OP_QUERY collection name not terminated');
  const ns = frame.toString('utf8', HEADER + 4, nsEnd);
  const query = bsonAt(frame, nsEnd + 1 + 8, frame.length, 'OP_QUERY query');
  const refused = tooLarge([query]);
  if (refused) return { opCode: OP_QUERY, requestId, flags, command: {}, queryNs: ns, refused };
  let command = decoding('OP_QUERY query', () => decodeBson(query));
  // Drivers wrap legacy commands as { $query: {...}, $readPreference } when they carry read preferences.
  if (command.$query && typeof command.$query === 'object') command = command.$query as Doc;
  return { opCode: OP_QUERY, requestId, flags, command, queryNs: ns };
}

function cstring(s: string): Buffer {
  return Buffer.from(s + '\0', 'utf8');
}

const CURSOR = cstring('cursor');
const FIRST = cstring('firstBatch');
const NEXT = cstring('nextBatch');
const ID = cstring('id');
const NS = cstring('ns');
const OK = cstring('ok');

/** The bytes a batch's `index`-th document takes in the reply besides its own encoding: type byte, decimal key, NUL. */
export function batchEntryBytes(index: number): number {
  return 2 + digits(index);
}

/**
 * The bytes of `{ cursor: { firstBatch|nextBatch: [], id, ns }, ok: 1 }` with an empty batch: a reply is this
 * plus, for each document, its encoding and `batchEntryBytes(i)`. The cursors cut batches by it, encodeBody
 * builds replies by it, so the cut is exactly what goes on the wire.
 */
export function cursorReplyBaseBytes(batchKey: 'firstBatch' | 'nextBatch', ns: string): number {
  const batchName = batchKey === 'firstBatch' ? FIRST : NEXT;
  const cursorLen = 4 + (1 + batchName.length + 5) + (1 + ID.length + 8) + (1 + NS.length + 4 + Buffer.byteLength(ns, 'utf8') + 1) + 1;
  return 4 + (1 + CURSOR.length + cursorLen) + (1 + OK.length + 8) + 1;
}

/**
 * `{ cursor: { firstBatch|nextBatch: [...], id, ns }, ok: 1 }` assembled from each document's cached
 * encoding; other replies go through BSON.serialize. A reply over MAX_BSON_INTERNAL_BYTES (a document an
 * aggregation built past the limit) throws 10334, which the server answers instead of this reply.
 */
function encodeBody(body: Doc): Buffer | Uint8Array {
  const cursor = body.cursor as Doc | undefined;
  const keys = Object.keys(body);
  if (!cursor || keys.length !== 2 || keys[1] !== 'ok' || body.ok !== 1) return serializeBson(body);
  const ck = Object.keys(cursor);
  const batchKey = ck[0];
  if (ck.length !== 3 || (batchKey !== 'firstBatch' && batchKey !== 'nextBatch') || ck[1] !== 'id' || ck[2] !== 'ns') {
    return serializeBson(body);
  }
  const docs = cursor[batchKey] as Doc[];
  const encoded = docs.map(bsonOf);
  let entries = 0;
  for (let i = 0; i < encoded.length; i++) entries += batchEntryBytes(i) + encoded[i].length;
  const arrayLen = 5 + entries;
  const nsBytes = Buffer.from(String(cursor.ns), 'utf8');
  const batchName = batchKey === 'firstBatch' ? FIRST : NEXT;
  const cursorLen = 4 + (1 + batchName.length + arrayLen) + (1 + ID.length + 8) + (1 + NS.length + 4 + nsBytes.length + 1) + 1;
  const total = cursorReplyBaseBytes(batchKey, String(cursor.ns)) + entries;
  if (total > MAX_BSON_INTERNAL_BYTES) throw bsonObjectTooLarge(total, 'cursor: { ... }');
  const out = Buffer.allocUnsafe(total);
  let p = out.writeInt32LE(total, 0);
  out[p++] = 0x03;
  p += CURSOR.copy(out, p);
  p = out.writeInt32LE(cursorLen, p);
  out[p++] = 0x04;
  p += batchName.copy(out, p);
  p = out.writeInt32LE(arrayLen, p);
  for (let i = 0; i < encoded.length; i++) {
    out[p++] = 0x03;
    p += out.write(String(i), p, 'latin1');
    out[p++] = 0;
    p += encoded[i].copy(out, p);
  }
  out[p++] = 0;
  out[p++] = 0x12;
  p += ID.copy(out, p);
  const id = cursor.id as { low: number; high: number };
  p = out.writeInt32LE(id.low, p);
  p = out.writeInt32LE(id.high, p);
  out[p++] = 0x02;
  p += NS.copy(out, p);
  p = out.writeInt32LE(nsBytes.length + 1, p);
  p += nsBytes.copy(out, p);
  out[p++] = 0;
  out[p++] = 0;
  out[p++] = 0x01;
  p += OK.copy(out, p);
  p = out.writeDoubleLE(1, p);
  out[p++] = 0;
  if (p !== total) throw new Error(`cursor reply size mismatch ${p} != ${total}`);
  return out;
}

function digits(i: number): number {
  return i < 10 ? 1 : i < 100 ? 2 : i < 1000 ? 3 : i < 10000 ? 4 : i < 100000 ? 5 : String(i).length;
}

export function encodeOpMsg(requestId: number, responseTo: number, flags: number, body: Doc): Buffer {
  const bson = encodeBody(body);
  const out = Buffer.allocUnsafe(HEADER + 5 + bson.length);
  out.writeInt32LE(out.length, 0);
  out.writeInt32LE(requestId, 4);
  out.writeInt32LE(responseTo, 8);
  out.writeInt32LE(OP_MSG, 12);
  out.writeUInt32LE(flags, 16);
  out[20] = 0;
  out.set(bson, 21);
  return out;
}

export function encodeOpReply(requestId: number, responseTo: number, body: Doc, responseFlags = 0): Buffer {
  const bson = serializeBson(body);
  const out = Buffer.allocUnsafe(HEADER + 20 + bson.length);
  out.writeInt32LE(out.length, 0);
  out.writeInt32LE(requestId, 4);
  out.writeInt32LE(responseTo, 8);
  out.writeInt32LE(OP_REPLY, 12);
  out.writeInt32LE(responseFlags, 16);
  out.writeBigInt64LE(0n, 20);
  out.writeInt32LE(0, 28);
  out.writeInt32LE(1, 32);
  out.set(bson, 36);
  return out;
}
