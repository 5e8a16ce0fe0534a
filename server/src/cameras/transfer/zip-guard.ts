import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { ImportTooLargeError, unzippedTooLarge } from './read';

const LFH = 0x04034b50;
const LFH_LEN = 30;
/** Inflated output is counted and dropped in pieces of this size. */
const OUT_CHUNK = 256 * 1024;

/**
 * The unzipped-size cap applied while an XLSX is still being uploaded, so a zip bomb is refused after the
 * few megabytes that already inflate past IMPORT_XLSX_MAX_UNZIPPED_BYTES, not after the whole file is on
 * disk. A pass-through stream: the bytes go on unchanged (to the temporary file) while the local file
 * headers are followed as they stream by — each part's declared size is added up, and each deflated part
 * is inflated (in zlib's thread pool) and its output counted and dropped. It fails with
 * ImportTooLargeError as soon as either sum passes the cap. The upload waits for the inflater
 * (back-pressure), so memory stays at a few pieces.
 *
 * A first line of defence only: anything it cannot follow (not a zip, a stored part of unknown length,
 * a method other than deflate, a damaged stream, the central directory reached) ends its watch quietly,
 * and the worker's `checkUnzippedSize` checks the whole file on disk before anything reads it.
 */
export class UnzipGuard extends Transform {
  private state: 'sniff' | 'header' | 'data' | 'off' = 'sniff';
  private head = Buffer.alloc(0);
  /** Compressed bytes left of the current part; -1: unknown (a data descriptor follows), inflate to its end. */
  private remaining = 0;
  private inflater: zlib.InflateRaw | null = null;
  private declared = 0;
  private inflated = 0;
  private failure: ImportTooLargeError | null = null;

  constructor(private readonly cap: number) {
    super();
  }

  /** Bytes the parts declared / inflated so far (tests). */
  get counted(): { declared: number; inflated: number } {
    return { declared: this.declared, inflated: this.inflated };
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.scan(chunk).then(
      () => cb(null, chunk),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  }

  override _flush(cb: TransformCallback): void {
    this.stopInflating();
    cb(this.failure);
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.stopInflating();
    cb(err);
  }

  private tooLarge(): ImportTooLargeError {
    this.failure ??= unzippedTooLarge(this.cap);
    this.stopInflating();
    this.state = 'off';
    return this.failure;
  }

  private stopInflating(): void {
    const inf = this.inflater;
    this.inflater = null;
    if (inf) {
      inf.removeAllListeners('data');
      inf.on('error', () => undefined);
      inf.destroy();
    }
  }

  private async scan(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length && this.state !== 'off') {
      if (this.failure) throw this.failure;
      if (this.state === 'sniff' || this.state === 'header') {
        const need = this.state === 'sniff' ? 4 : this.headerLength();
        const take = Math.min(need - this.head.length, chunk.length - at);
        this.head = Buffer.concat([this.head, chunk.subarray(at, at + take)]);
        at += take;
        if (this.head.length < need) continue;
        if (this.state === 'sniff') {
          this.state = this.head.readUInt32LE(0) === LFH ? 'header' : 'off';
          continue;
        }
        // anything but a local header (the central directory, a spanned archive…) ends the watch
        if (this.head.readUInt32LE(0) !== LFH) {
          this.state = 'off';
          continue;
        }
        if (this.head.length < this.headerLength()) continue; // its name and extra field are still to come
        this.startPart();
        continue;
      }
      // data of a part
      const n = this.remaining < 0 ? chunk.length - at : Math.min(this.remaining, chunk.length - at);
      const piece = chunk.subarray(at, at + n);
      at += n;
      if (this.remaining > 0) this.remaining -= n;
      if (this.inflater) await this.feed(piece);
      if (this.remaining === 0) await this.endPart();
    }
    if (this.failure) throw this.failure;
  }

  /** Bytes of the local header being read: 30, then 30 + its name and extra field. */
  private headerLength(): number {
    if (this.head.length < LFH_LEN) return LFH_LEN;
    return LFH_LEN + this.head.readUInt16LE(26) + this.head.readUInt16LE(28);
  }

  private startPart(): void {
    const h = this.head;
    this.head = Buffer.alloc(0);
    const flags = h.readUInt16LE(6);
    const method = h.readUInt16LE(8);
    const comp = h.readUInt32LE(18);
    const size = h.readUInt32LE(22);
    const descriptor = (flags & 0x08) !== 0;
    if (!descriptor) {
      this.declared += size;
      if (this.declared > this.cap) throw this.tooLarge();
    }
    if (method === 0) {
      if (descriptor) {
        this.state = 'off'; // a stored part of unknown length: nowhere to find the next header
        return;
      }
      this.inflated += comp;
      if (this.inflated > this.cap) throw this.tooLarge();
      this.remaining = comp;
      this.state = 'data';
      if (comp === 0) this.state = 'header';
      return;
    }
    if (method !== 8) {
      this.state = 'off';
      return;
    }
    this.remaining = descriptor && comp === 0 ? -1 : comp;
    this.state = 'data';
    if (this.remaining === 0) {
      this.state = 'header';
      return;
    }
    const inf = zlib.createInflateRaw({ chunkSize: OUT_CHUNK });
    inf.on('data', (out: Buffer) => {
      this.inflated += out.length;
      if (this.inflated > this.cap) this.tooLarge();
    });
    inf.on('error', () => {
      // a damaged part: the worker's check on the whole file says so
      if (this.inflater === inf) this.stopInflating();
      this.state = 'off';
    });
    inf.on('end', () => {
      if (this.inflater !== inf) return;
      this.inflater = null;
      // a part with a data descriptor ends where its deflate stream ends, which is not known here
      if (this.remaining < 0) this.state = 'off';
    });
    this.inflater = inf;
  }

  private feed(piece: Buffer): Promise<void> {
    const inf = this.inflater;
    if (!inf || piece.length === 0) return Promise.resolve();
    if (inf.write(piece)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        inf.off('drain', done);
        inf.off('close', done);
        resolve();
      };
      inf.once('drain', done);
      inf.once('close', done);
    });
  }

  /** The part's compressed bytes are all in: let the inflater finish counting, then read the next header. */
  private endPart(): Promise<void> {
    this.state = 'header';
    const inf = this.inflater;
    if (!inf) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        inf.off('end', done);
        inf.off('close', done);
        if (this.inflater === inf) this.inflater = null;
        resolve();
      };
      inf.once('end', done);
      inf.once('close', done);
      inf.end();
    });
  }
}
