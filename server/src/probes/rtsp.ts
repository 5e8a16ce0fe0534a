import { SocketCheck } from './socket-check';
import { authScheme, classifyNetError, MAX_READ_BYTES, result, type Probe, type ProbeResult, type ProbeTarget } from './types';

export interface RtspResponse {
  status: number;
  reason: string;
  headers: Map<string, string>;
  body: string;
}

/**
 * Parses one RTSP response at the start of `buf`. Returns null while incomplete, the response and its
 * length when complete, or an error string when the bytes are not RTSP.
 */
export function parseRtspResponse(buf: Buffer): { response: RtspResponse; length: number } | { error: string } | null {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) {
    if (buf.length >= 9 && !buf.subarray(0, 9).toString('latin1').startsWith('RTSP/')) return { error: 'not RTSP' };
    return null;
  }
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const m = /^RTSP\/(\d)\.(\d) (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
  if (!m) return { error: 'bad status line' };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return { error: 'bad RTSP header line' };
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const lengthHeader = headers.get('content-length');
  const bodyLength = lengthHeader === undefined ? 0 : Number(lengthHeader);
  if (!Number.isInteger(bodyLength) || bodyLength < 0) return { error: 'bad RTSP Content-Length' };
  const total = headEnd + 4 + bodyLength;
  if (buf.length < total) return null;
  return {
    response: { status: Number(m[3]), reason: m[4] ?? '', headers, body: buf.subarray(headEnd + 4, total).toString('utf8') },
    length: total,
  };
}

function request(method: string, url: string, cseq: number, extra = ''): string {
  return `${method} ${url} RTSP/1.0\r\nCSeq: ${cseq}\r\nUser-Agent: Vigil\r\n${extra}\r\n`;
}

type Phase = 'connect' | 'options' | 'describe';

/** The URL and first request of a target, built once per target rather than once per check. */
const urls = new WeakMap<ProbeTarget, string>();
const optionsRequests = new WeakMap<ProbeTarget, string>();

function urlOf(target: ProbeTarget): string {
  let url = urls.get(target);
  if (url === undefined) {
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    const path = target.path ? (target.path.startsWith('/') ? target.path : `/${target.path}`) : '/';
    url = `rtsp://${host}:${target.port}${path}`;
    urls.set(target, url);
  }
  return url;
}

function optionsRequestOf(target: ProbeTarget, url: string): string {
  let text = optionsRequests.get(target);
  if (text === undefined) {
    text = request('OPTIONS', url, 1);
    optionsRequests.set(target, text);
  }
  return text;
}

/**
 * RTSP/1.0 `OPTIONS` (answered without credentials by compliant servers), then optionally `DESCRIBE`
 * (200 with an SDP body means a stream exists). 401 on either is `auth_required`: the device is alive.
 * The CSeq of each answer must echo ours, otherwise it is a protocol error. One object per check
 * implements the socket callbacks (hot path: no closures per check).
 */
class RtspCheck extends SocketCheck {
  private readonly url = urlOf(this.target);
  private buf: Buffer | null = null;
  private received = 0;
  private cseq = 1;
  private phase: Phase = 'connect';

  protected expired(why: 'timeout' | 'aborted'): ProbeResult {
    return result('timeout', this.startedAt, { detail: why === 'aborted' ? 'aborted' : `no complete answer (${this.phase})` });
  }

  onConnect(): void {
    this.phase = 'options';
    this.conn.write(optionsRequestOf(this.target, this.url));
  }

  onData(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.received > MAX_READ_BYTES) {
      this.finish(result('protocol_error', this.startedAt, { detail: `answer exceeds ${MAX_READ_BYTES} bytes` }));
      return;
    }
    // The chunk may be a view of a buffer the socket layer reuses: keep a copy only when waiting for more.
    const buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    const parsed = parseRtspResponse(buf);
    if (parsed === null) {
      this.buf = this.buf === null ? Buffer.from(chunk) : buf;
      return;
    }
    if ('error' in parsed) {
      this.finish(result('protocol_error', this.startedAt, { detail: parsed.error }));
      return;
    }
    const { response } = parsed;
    const rest = buf.subarray(parsed.length);
    this.buf = rest.length ? Buffer.from(rest) : null;
    const phase = this.phase;
    const echoed = response.headers.get('cseq');
    if (echoed !== String(this.cseq)) {
      this.finish(result('protocol_error', this.startedAt, { status: response.status, detail: echoed === undefined ? 'answer has no CSeq' : 'answer CSeq does not match the request' }));
      return;
    }
    if (response.status === 401) {
      this.finish(result('auth_required', this.startedAt, { status: 401, detail: `${phase.toUpperCase()} needs ${authScheme(response.headers.get('www-authenticate'))} credentials` }));
      return;
    }
    if (response.status !== 200) {
      this.finish(result('protocol_error', this.startedAt, { status: response.status, detail: `${phase.toUpperCase()} answered ${response.status}` }));
      return;
    }
    if (phase === 'options' && this.target.describe) {
      this.phase = 'describe';
      this.cseq += 1;
      this.conn.write(request('DESCRIBE', this.url, this.cseq, 'Accept: application/sdp\r\n'));
      return;
    }
    if (phase === 'describe' && !response.body.startsWith('v=0')) {
      this.finish(result('protocol_error', this.startedAt, { status: 200, detail: 'DESCRIBE answer has no SDP body' }));
      return;
    }
    this.finish(result('ok', this.startedAt, { status: 200 }));
  }

  onEnd(): void {
    this.finish(result(this.phase === 'connect' ? 'reset' : 'protocol_error', this.startedAt, { detail: `peer closed during ${this.phase}` }));
  }

  onError(code: string): void {
    const c = classifyNetError(code);
    this.finish(result(c.outcome, this.startedAt, { detail: c.detail }));
  }
}

export const rtspProbe: Probe = {
  kind: 'rtsp',
  check(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
    return new Promise<ProbeResult>((resolve) => new RtspCheck(target, signal, resolve));
  },
  run(target: ProbeTarget, done: (r: ProbeResult) => void): void {
    new RtspCheck(target, undefined, done);
  },
};
