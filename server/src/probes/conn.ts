import net from 'node:net';
import util from 'node:util';
import { uvBinding, type Binding, type TcpHandle } from '../lib/uv-binding';

/**
 * The one client-socket layer the hot probes (tcp, rtsp) use. Two interchangeable implementations:
 *
 * - `raw`: libuv's TCP handle through Node's own `tcp_wrap`/`stream_wrap` bindings — the layer
 *   `net.Socket` itself is built on — without the stream machinery above it (Readable/Writable state,
 *   event emitters, nextTick hops, per-socket closures). A connect + FIN + close costs about half the CPU
 *   of the same exchange through `net.Socket` (measured 34–39 µs vs 68–78 µs per check, BENCHMARKS.md),
 *   which is what lets one process poll a province-sized registry. These bindings are not a public
 *   API, so they are feature-checked once at load and the probes fall back to `net` when anything is
 *   missing (another Node major, a runtime without them), and hostnames (which need DNS) always use `net`.
 * - `net`: the public `net.Socket`, same events.
 *
 * Both deliver the same callbacks, never synchronously from `dial` (so a caller can finish setting up),
 * and stop delivering after `close()`. Errors are reported by errno name (ECONNREFUSED, ECONNRESET, …).
 */
export interface ConnHandler {
  /** Handshake complete. */
  onConnect(): void;
  /** Bytes read. Valid only during the call (the raw layer reads every socket into one shared buffer): copy to keep. */
  onData(chunk: Buffer): void;
  /** The peer half-closed (FIN). */
  onEnd(): void;
  /** Connect, read or write failed; `code` is the errno name. Nothing more is delivered after it. */
  onError(code: string): void;
}

export interface Conn {
  /** Sends a latin1 string (protocol text). Failures arrive as onError. */
  write(text: string): void;
  /** Sends bytes (a request encoded once and reused: no encoding per check). Failures arrive as onError. */
  writeBytes(bytes: Uint8Array): void;
  /** Half-close: FIN after what was written. */
  end(): void;
  /** Closes and stops every callback. Idempotent. */
  close(): void;
}

export type ConnKind = 'raw' | 'net';

// ---- the raw layer ----------------------------------------------------------------------------

const B = uvBinding();

/** Whether the raw layer is usable in this runtime. */
export const rawAvailable = B !== null;

const errnoNames = new Map<number, string>();
function errName(status: number): string {
  let n = errnoNames.get(status);
  if (n === undefined) {
    try {
      n = util.getSystemErrorName(status);
    } catch {
      n = `E${-status}`;
    }
    errnoNames.set(status, n);
  }
  return n;
}

// Shared callbacks (no closure per connection): the handle and the requests point back at their RawConn.
function afterConnect(this: void, status: number, handle: TcpHandle): void {
  const c = handle.conn as RawConn | undefined;
  if (!c || c.closed) return;
  if (status !== 0) {
    c.fail(status);
    return;
  }
  const err = handle.readStart();
  if (err !== 0) {
    c.fail(err);
    return;
  }
  c.h.onConnect();
}

/**
 * Every raw socket reads into this one buffer (a probe's answer is a few hundred bytes; reads are handled one at
 * a time on this thread, each to the end before the next). Without it libuv's read allocates 64 KiB, which the
 * binding then turns into an ArrayBuffer per read: 5–10 µs of an rtsp check (#15).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

function onRead(this: TcpHandle, buf: ArrayBuffer | undefined): void {
  const c = this.conn as RawConn | undefined;
  if (!c || c.closed || !B) return;
  const nread = B.state[B.kReadBytesOrError];
  if (nread > 0) {
    if (buf) c.h.onData(Buffer.from(buf, B.state[B.kArrayBufferOffset], nread));
    else c.h.onData(READ_BUFFER.subarray(0, nread));
    return;
  }
  if (nread === 0) return;
  if (nread === B.UV_EOF) {
    c.h.onEnd();
    return;
  }
  c.fail(nread);
}

/** The binding insists on a function here (a native assertion aborts the process on null). */
function ignoreRead(this: TcpHandle): void {
  // closed: nothing more is delivered
}

function ignoreCompletion(this: void): void {
  // Writes and shutdowns of a probe carry a few bytes; their failure shows up on the read side.
}

class RawConn implements Conn {
  closed = false;
  readonly handle: TcpHandle;

  constructor(
    private readonly b: Binding,
    readonly h: ConnHandler,
    host: string,
    port: number,
    family: 4 | 6,
  ) {
    const handle = new b.TCP(b.SOCKET);
    this.handle = handle;
    handle.conn = this;
    handle.onread = onRead;
    handle.useUserBuffer?.(READ_BUFFER);
    const req = new b.TCPConnectWrap();
    req.oncomplete = afterConnect;
    const err = family === 4 ? handle.connect(req, host, port) : handle.connect6(req, host, port);
    if (err !== 0) queueMicrotask(() => this.fail(err));
  }

  fail(status: number): void {
    if (this.closed) return;
    this.close();
    this.h.onError(errName(status));
  }

  write(text: string): void {
    if (this.closed) return;
    const req = new this.b.WriteWrap();
    req.oncomplete = ignoreCompletion;
    const err = this.handle.writeLatin1String(req, text);
    if (err !== 0) queueMicrotask(() => this.fail(err));
  }

  writeBytes(bytes: Uint8Array): void {
    if (this.closed) return;
    const req = new this.b.WriteWrap();
    req.oncomplete = ignoreCompletion;
    const err = this.handle.writeBuffer(req, bytes);
    if (err !== 0) queueMicrotask(() => this.fail(err));
  }

  end(): void {
    if (this.closed) return;
    const req = new this.b.ShutdownWrap();
    req.oncomplete = ignoreCompletion;
    // 1 = completed synchronously; a negative value (ENOTCONN after a reset) shows up on the read side
    this.handle.shutdown(req);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.onread = ignoreRead;
    this.handle.conn = undefined;
    this.handle.close();
  }
}

// ---- the public fallback ------------------------------------------------------------------------

class NetConn implements Conn {
  private readonly socket: net.Socket;
  private closed = false;

  constructor(h: ConnHandler, host: string, port: number) {
    const s = net.connect({ host, port, allowHalfOpen: true });
    this.socket = s;
    s.on('connect', () => {
      if (!this.closed) h.onConnect();
    });
    s.on('data', (d: Buffer) => {
      if (!this.closed) h.onData(d);
    });
    s.on('end', () => {
      if (!this.closed) h.onEnd();
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (this.closed) return;
      this.close();
      h.onError(err.code ?? 'EPROTO');
    });
  }

  write(text: string): void {
    if (!this.closed) this.socket.write(text, 'latin1');
  }

  writeBytes(bytes: Uint8Array): void {
    if (!this.closed) this.socket.write(bytes);
  }

  end(): void {
    if (!this.closed) this.socket.end();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }
}

let preferred: ConnKind = rawAvailable ? 'raw' : 'net';

/** Chooses the layer (PROBE_SOCKET); `raw` silently stays `net` when the runtime lacks it. */
export function useConnKind(kind: ConnKind): ConnKind {
  preferred = kind === 'raw' && rawAvailable ? 'raw' : 'net';
  return preferred;
}

export function connKind(): ConnKind {
  return preferred;
}

/** Opens a TCP connection; IP literals go through the raw layer when chosen, hostnames through `net`. */
export function dial(host: string, port: number, h: ConnHandler, family?: 0 | 4 | 6, kind: ConnKind = preferred): Conn {
  if (kind === 'raw' && B) {
    family ??= net.isIPv4(host) ? 4 : net.isIPv6(host) ? 6 : 0;
    if (family !== 0) return new RawConn(B, h, host, port, family);
  }
  return new NetConn(h, host, port);
}
