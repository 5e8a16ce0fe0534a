import net from 'node:net';
import util from 'node:util';
import { uvBinding, type Binding, type Req, type TcpHandle } from '../../lib/uv-binding';
import type { Action } from './faults';
import { answerRtspRequests, MAX_REQUEST_BYTES, normaliseAddr, type ProtocolCamera, type RtspSession } from './protocol';

/**
 * The simulator's RTSP-port listener on libuv's TCP handles directly (Node's `tcp_wrap`, the layer
 * `net.Server` is built on). Nearly every connection a polling benchmark makes is a connect check or one
 * OPTIONS to a healthy camera; through `net.Server` + `net.Socket` each costs a socket object, stream
 * state, event emitters and several nextTick hops, which at 5,000 connections/s took ~0.4 of this 2-core
 * machine. Here the decision is made once per connection from the dialled address, and only the hot
 * actions are served on the raw handle with shared callbacks (no closure or emitter per connection):
 *
 * - `up`: read, answer through the shared RTSP code (protocol.ts), close when the peer half-closes;
 * - `down` (and `reset`, flapping down, unknown address): reset at once.
 *
 * Every other action (blackhole, slow, garbage, 401/500) wraps the handle into a public `net.Socket` and
 * continues on the simulator's `net` code path, so those modes behave exactly as before.
 */

export interface RawRtspListenerOptions<C extends ProtocolCamera> {
  host: string;
  port: number;
  backlog: number;
  nonce: string;
  /** The camera and action for a connection to `localAddress`, or null to reset it (unknown address). */
  decide(localAddress: string): { cam: C; action: Action } | null;
  /** Continues a connection whose action the raw path does not serve, on a public socket. */
  handOff(socket: net.Socket, cam: C, action: Action): void;
}

export interface RawRtspListener {
  port: number;
  /** Stops listening and closes the connections still open. */
  close(): Promise<void>;
}

const B = uvBinding();

/** Whether the raw listener can run in this runtime. */
export const rawListenerAvailable = B !== null;

const sockname: { address?: string; port?: number; family?: string } = {};

function listenError(status: number, host: string, port: number): NodeJS.ErrnoException {
  const code = util.getSystemErrorName(status);
  return Object.assign(new Error(`listen ${code}: ${host}:${port}`), { code, errno: status, syscall: 'listen', address: host, port });
}

class RawRtspServer<C extends ProtocolCamera> implements RawRtspListener {
  readonly handle: TcpHandle;
  readonly conns = new Set<RawRtspConn<C>>();
  port = 0;
  private closed: Promise<void> | null = null;

  constructor(
    readonly b: Binding,
    readonly opts: RawRtspListenerOptions<C>,
  ) {
    this.handle = new b.TCP(b.SERVER);
    this.handle.conn = this;
    this.handle.onconnection = onConnection;
  }

  listen(): void {
    const { host, port, backlog } = this.opts;
    let err = net.isIPv6(host) ? this.handle.bind6(host, port, 0) : this.handle.bind(host, port);
    if (err === 0) err = this.handle.listen(backlog);
    if (err === 0) err = this.handle.getsockname(sockname);
    if (err !== 0) {
      this.handle.close();
      throw listenError(err, host, port);
    }
    this.port = sockname.port ?? 0;
  }

  accept(client: TcpHandle): void {
    client.getsockname(sockname);
    const decided = this.opts.decide(normaliseAddr(sockname.address));
    if (decided === null || decided.action === 'down') {
      client.reset();
      return;
    }
    if (decided.action === 'up') {
      const conn = new RawRtspConn(this, client, decided.cam);
      this.conns.add(conn);
      client.conn = conn;
      client.onread = onRead;
      if (client.readStart() !== 0) conn.close();
      return;
    }
    // What net.Server itself does with an accepted handle (allowHalfOpen false, reading at once).
    const socket = new net.Socket({ handle: client, allowHalfOpen: false, readable: true, writable: true } as net.SocketConstructorOpts);
    this.opts.handOff(socket, decided.cam, decided.action);
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      for (const c of this.conns) c.close();
      this.handle.conn = undefined;
      this.handle.close(resolve);
    });
    return this.closed;
  }
}

function onConnection(this: TcpHandle, status: number, client: TcpHandle | undefined): void {
  const server = this.conn as RawRtspServer<ProtocolCamera> | undefined;
  if (server === undefined || status !== 0 || client === undefined) return;
  server.accept(client);
}

/** One `up` connection; the handle points back at it, and every callback is shared. */
class RawRtspConn<C extends ProtocolCamera> implements RtspSession {
  readonly action = 'up' as const;
  private buf = '';
  /** Writes libuv still holds (not yet handed to the kernel): closing now would drop them. */
  private queued = 0;
  private closed = false;

  constructor(
    private readonly server: RawRtspServer<C>,
    private readonly handle: TcpHandle,
    readonly cam: C,
  ) {}

  data(text: string): void {
    // Complete requests are answered first: only an unfinished one longer than the limit is refused.
    this.buf = answerRtspRequests(this, this.buf === '' ? text : this.buf + text, this.server.opts.nonce);
    if (this.buf.length > MAX_REQUEST_BYTES) this.close();
  }

  reply(text: string): void {
    if (this.closed) return;
    const b = this.server.b;
    const req = new b.WriteWrap();
    req.oncomplete = afterWrite;
    req.conn = this;
    if (this.handle.writeLatin1String(req, text) !== 0) {
      this.close();
      return;
    }
    // "the last write was queued in libuv" (set by the binding right after each write)
    if (b.state[b.kLastWriteWasAsync] !== 0) this.queued++;
  }

  written(): void {
    this.queued--;
  }

  /** The peer half-closed: like `net` with allowHalfOpen false, finish what was written, then close. */
  peerEnded(): void {
    if (this.closed) return;
    if (this.queued === 0) {
      // Everything written is in the kernel: close() sends it, then FIN.
      this.close();
      return;
    }
    const req = new this.server.b.ShutdownWrap();
    req.oncomplete = afterShutdown;
    req.conn = this;
    if (this.handle.shutdown(req) !== 0) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.conns.delete(this);
    this.handle.onread = ignoreRead;
    this.handle.conn = undefined;
    this.handle.close();
  }
}

function onRead(this: TcpHandle, ab: ArrayBuffer | undefined): void {
  const c = this.conn as RawRtspConn<ProtocolCamera> | undefined;
  if (c === undefined || B === null) return;
  const n = B.state[B.kReadBytesOrError];
  if (n > 0) {
    if (ab) c.data(Buffer.from(ab, B.state[B.kArrayBufferOffset], n).toString('latin1'));
  } else if (n === B.UV_EOF) {
    c.peerEnded();
  } else if (n < 0) {
    c.close();
  }
}

/** The binding insists on a function here (a native assertion aborts the process on null). */
function ignoreRead(this: TcpHandle): void {
  // closed: nothing more is read
}

function afterWrite(this: Req): void {
  (this.conn as RawRtspConn<ProtocolCamera> | undefined)?.written();
}

function afterShutdown(this: Req): void {
  (this.conn as RawRtspConn<ProtocolCamera> | undefined)?.close();
}

/**
 * Listens on the raw handle; null when the binding is unavailable or `host` is not an IP literal (the
 * caller then uses `net`). Throws like `net.Server#listen` when the address cannot be bound.
 */
export function listenRawRtsp<C extends ProtocolCamera>(opts: RawRtspListenerOptions<C>): RawRtspListener | null {
  if (B === null || net.isIP(opts.host) === 0) return null;
  const server = new RawRtspServer(B, opts);
  server.listen();
  return server;
}
