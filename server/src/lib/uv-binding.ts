/**
 * Node's own libuv TCP bindings (`tcp_wrap`, `stream_wrap`, `uv`): the layer `net.Socket` and
 * `net.Server` are built on, used directly where the stream machinery above it costs more than the work
 * (the probes' hot path; the camera simulator). Not a public API: loaded and shape-checked once, and
 * `null` when anything is missing, so every user keeps a `net` fallback.
 */

export interface Req {
  oncomplete: ((...args: never[]) => void) | null;
  /** Back-pointer set by the user of the request (shared callbacks, no closure per request). */
  conn?: unknown;
}

export interface TcpHandle {
  /** The binding insists on a function (a native assertion aborts the process on null). */
  onread: (this: TcpHandle, buf: ArrayBuffer | undefined) => void;
  /** Server handles: called with (status, clientHandle). */
  onconnection?: (this: TcpHandle, status: number, client: TcpHandle | undefined) => void;
  /** Back-pointer set by the user of the handle. */
  conn?: unknown;
  connect(req: Req, host: string, port: number): number;
  connect6(req: Req, host: string, port: number): number;
  bind(host: string, port: number): number;
  bind6(host: string, port: number, flags: number): number;
  listen(backlog: number): number;
  getsockname(out: { address?: string; port?: number; family?: string }): number;
  readStart(): number;
  readStop(): number;
  shutdown(req: Req): number;
  writeLatin1String(req: Req, s: string): number;
  writeBuffer(req: Req, b: Uint8Array): number;
  reset(cb?: () => void): number;
  /**
   * Reads into this buffer instead of a fresh 64 KiB allocation per read (what `net`'s `onread.buffer` option
   * uses); `onread` then gets no ArrayBuffer and the bytes are at the buffer's start. Optional: older runtimes.
   */
  useUserBuffer?(buf: Uint8Array): void;
  close(cb?: () => void): void;
}

export interface Binding {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => Req;
  ShutdownWrap: new () => Req;
  WriteWrap: new () => Req;
  SOCKET: number;
  SERVER: number;
  /** Shared state the binding writes before calling onread: bytes read (or an error), buffer offset. */
  state: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  /**
   * Index in `state` set after each write: non-zero when libuv queued the write (its `oncomplete` will be
   * called), zero when it went to the kernel at once (no callback). A server closing a handle must know,
   * since closing cancels queued writes.
   */
  kLastWriteWasAsync: number;
  UV_EOF: number;
}

let cached: Binding | null | undefined;

/** The bindings, or null when this runtime lacks them (then use `net`). */
export function uvBinding(): Binding | null {
  if (cached === undefined) cached = load();
  return cached;
}

function load(): Binding | null {
  try {
    const legacy = (process as unknown as { binding?: (name: string) => Record<string, unknown> }).binding;
    if (typeof legacy !== 'function') return null;
    const tcp = legacy('tcp_wrap') as { TCP?: unknown; TCPConnectWrap?: unknown; constants?: { SOCKET?: unknown; SERVER?: unknown } };
    const stream = legacy('stream_wrap') as {
      ShutdownWrap?: unknown;
      WriteWrap?: unknown;
      streamBaseState?: unknown;
      kReadBytesOrError?: unknown;
      kArrayBufferOffset?: unknown;
      kLastWriteWasAsync?: unknown;
    };
    const uv = legacy('uv') as { UV_EOF?: unknown };
    if (
      typeof tcp.TCP !== 'function' ||
      typeof tcp.TCPConnectWrap !== 'function' ||
      typeof tcp.constants?.SOCKET !== 'number' ||
      typeof tcp.constants.SERVER !== 'number' ||
      typeof stream.ShutdownWrap !== 'function' ||
      typeof stream.WriteWrap !== 'function' ||
      !(stream.streamBaseState instanceof Int32Array) ||
      typeof stream.kReadBytesOrError !== 'number' ||
      typeof stream.kArrayBufferOffset !== 'number' ||
      typeof stream.kLastWriteWasAsync !== 'number' ||
      typeof uv.UV_EOF !== 'number'
    ) {
      return null;
    }
    const proto = (tcp.TCP as { prototype: Record<string, unknown> }).prototype;
    const methods = ['connect', 'connect6', 'bind', 'bind6', 'listen', 'getsockname', 'readStart', 'readStop', 'shutdown', 'writeLatin1String', 'writeBuffer', 'reset', 'close'];
    for (const m of methods) if (typeof proto[m] !== 'function') return null;
    return {
      TCP: tcp.TCP as Binding['TCP'],
      TCPConnectWrap: tcp.TCPConnectWrap as Binding['TCPConnectWrap'],
      ShutdownWrap: stream.ShutdownWrap as Binding['ShutdownWrap'],
      WriteWrap: stream.WriteWrap as Binding['WriteWrap'],
      SOCKET: tcp.constants.SOCKET,
      SERVER: tcp.constants.SERVER,
      state: stream.streamBaseState,
      kReadBytesOrError: stream.kReadBytesOrError,
      kArrayBufferOffset: stream.kArrayBufferOffset,
      kLastWriteWasAsync: stream.kLastWriteWasAsync,
      UV_EOF: uv.UV_EOF,
    };
  } catch {
    return null;
  }
}
