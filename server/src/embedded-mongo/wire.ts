/**
 * MongoDB wire protocol framing (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/):
 * OP_MSG both ways, the legacy OP_QUERY handshake in, OP_REPLY out. No compression is advertised, so
 * OP_COMPRESSED never arrives.
 */
import { BSON } from 'bson';
import type { Doc } from './compare';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;

export const FLAG_CHECKSUM_PRESENT = 1;
export const FLAG_MORE_TO_COME = 2;
export const FLAG_EXHAUST_ALLOWED = 1 << 16;

const HEADER = 16;
/** The limit advertised in hello; a larger frame is a protocol error. */
export const MAX_MESSAGE_BYTES = 48_000_000;

const deserializeOptions = { promoteLongs: true, promoteValues: true, promoteBuffers: false, bsonRegExp: false };

/**
 * The exact bytes a document arrived in (kind-1 sequences: inserted documents). Storage writes these
 * instead of re-serializing; the entry is dropped once written so the frame buffer can be collected.
 */
export const rawBson = new WeakMap<Doc, Buffer>();

export function decodeBson(buf: Uint8Array): Doc {
  return BSON.deserialize(buf, deserializeOptions);
}

export interface IncomingMessage {
  opCode: number;
  requestId: number;
  flags: number;
  /** Command document with kind-1 document sequences merged in as arrays under their identifiers. */
  command: Doc;
  /** For OP_QUERY: the full collection name (`admin.$cmd`). */
  queryNs?: string;
}

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
      if (size < HEADER || size > MAX_MESSAGE_BYTES) throw new Error(`invalid message length ${size}`);
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

function readCString(buf: Buffer, pos: number): [string, number] {
  const end = buf.indexOf(0, pos);
  if (end < 0) throw new Error('unterminated cstring');
  return [buf.toString('utf8', pos, end), end + 1];
}

export function parseMessage(frame: Buffer): IncomingMessage {
  const requestId = frame.readInt32LE(4);
  const opCode = frame.readInt32LE(12);
  if (opCode === OP_MSG) return parseOpMsg(frame, requestId);
  if (opCode === OP_QUERY) return parseOpQuery(frame, requestId);
  throw new Error(`unsupported opCode ${opCode}`);
}

function parseOpMsg(frame: Buffer, requestId: number): IncomingMessage {
  const flags = frame.readUInt32LE(HEADER);
  const end = flags & FLAG_CHECKSUM_PRESENT ? frame.length - 4 : frame.length;
  let pos = HEADER + 4;
  let command: Doc | undefined;
  const sequences: [string, Doc[]][] = [];
  while (pos < end) {
    const kind = frame[pos++];
    const size = frame.readInt32LE(pos);
    if (kind === 0) {
      command = decodeBson(frame.subarray(pos, pos + size));
      pos += size;
    } else if (kind === 1) {
      const sectionEnd = pos + size;
      const [identifier, docStart] = readCString(frame, pos + 4);
      const docs: Doc[] = [];
      let p = docStart;
      while (p < sectionEnd) {
        const len = frame.readInt32LE(p);
        const bytes = frame.subarray(p, p + len);
        const doc = decodeBson(bytes);
        rawBson.set(doc, bytes);
        docs.push(doc);
        p += len;
      }
      sequences.push([identifier, docs]);
      pos = sectionEnd;
    } else {
      throw new Error(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!command) throw new Error('OP_MSG without a body section');
  for (const [identifier, docs] of sequences) command[identifier] = docs;
  return { opCode: OP_MSG, requestId, flags, command };
}

function parseOpQuery(frame: Buffer, requestId: number): IncomingMessage {
  const flags = frame.readUInt32LE(HEADER);
  const [ns, afterNs] = readCString(frame, HEADER + 4);
  const docStart = afterNs + 8;
  const len = frame.readInt32LE(docStart);
  let command = decodeBson(frame.subarray(docStart, docStart + len));
  // Drivers wrap legacy commands as { $query: {...}, $readPreference } when they carry read preferences.
  if (command.$query && typeof command.$query === 'object') command = command.$query as Doc;
  return { opCode: OP_QUERY, requestId, flags, command, queryNs: ns };
}

const serializeOptions = { ignoreUndefined: false };

export function encodeOpMsg(requestId: number, responseTo: number, flags: number, body: Doc): Buffer {
  const bson = BSON.serialize(body, serializeOptions);
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
  const bson = BSON.serialize(body, serializeOptions);
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
