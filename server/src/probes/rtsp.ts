import { SocketCheck } from './socket-check';
import { authScheme, classifyNetError, MAX_READ_BYTES, result, type Probe, type ProbeResult, type ProbeTarget } from './types';

/**
 * The head of one RTSP response at the start of a buffer, read from the bytes (the probe's hot path builds
 * no strings: status, CSeq and Content-Length are numbers parsed in place; text is only made for a detail
 * on the rare failure paths). `total` is the length of the whole response, body included.
 */
export interface RtspHead {
  status: number;
  /** The echoed CSeq; -1 when missing or not a number. */
  cseq: number;
  contentLength: number;
  /** Index of the first body byte (after the blank line). */
  bodyStart: number;
  total: number;
}

const PREFIX = Buffer.from('RTSP/', 'latin1');
const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const COLON = 0x3a;

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** ASCII lower case of a byte. */
function lower(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/** Whether bytes [from, to) spell `name` (given in lower case) ignoring case. */
function nameIs(buf: Buffer, from: number, to: number, name: string): boolean {
  if (to - from !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (lower(buf[from + i]) !== name.charCodeAt(i)) return false;
  return true;
}

/** A non-negative decimal between optional blanks in bytes [from, to); -1 when it is anything else. */
function decimal(buf: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to && (buf[i] === SPACE || buf[i] === TAB)) i++;
  const start = i;
  let n = 0;
  while (i < to && isDigit(buf[i]) && i - start < 15) n = n * 10 + (buf[i++] - 0x30);
  if (i === start) return -1;
  while (i < to && (buf[i] === SPACE || buf[i] === TAB)) i++;
  return i === to ? n : -1;
}

/**
 * Scans one RTSP response at the start of `buf`. Returns null while incomplete, the head when the whole
 * response (body included) is there, or an error string when the bytes are not RTSP.
 */
export function scanRtspHead(buf: Buffer): RtspHead | null | { error: string } {
  const n = buf.length;
  for (let i = 0; i < PREFIX.length && i < n; i++) if (buf[i] !== PREFIX[i]) return { error: 'not RTSP' };
  // "RTSP/d.d ddd" then a space or the line end
  if (n < 13) return null;
  if (!isDigit(buf[5]) || buf[6] !== 0x2e || !isDigit(buf[7]) || buf[8] !== SPACE || !isDigit(buf[9]) || !isDigit(buf[10]) || !isDigit(buf[11]) || (buf[12] !== SPACE && buf[12] !== CR)) {
    return { error: 'bad status line' };
  }
  const status = (buf[9] - 0x30) * 100 + (buf[10] - 0x30) * 10 + (buf[11] - 0x30);
  // One pass over the bytes, line by line (a native indexOf per line cost more than the scan: an answer has
  // 4–8 short lines). A header line that is wrong is refused as soon as it is complete.
  let from = lineEndFrom(buf, 12);
  if (from < 0) return null;
  from += 2;
  let cseq = -1;
  let contentLength = 0;
  for (;;) {
    const lineEnd = lineEndFrom(buf, from);
    if (lineEnd < 0) return null;
    // the blank line: end of the head
    if (lineEnd === from) break;
    let colon = from;
    while (colon < lineEnd && buf[colon] !== COLON) colon++;
    if (colon === from || colon === lineEnd) return { error: 'bad RTSP header line' };
    let nameEnd = colon;
    while (nameEnd > from && (buf[nameEnd - 1] === SPACE || buf[nameEnd - 1] === TAB)) nameEnd--;
    if (nameIs(buf, from, nameEnd, 'cseq')) cseq = decimal(buf, colon + 1, lineEnd);
    else if (nameIs(buf, from, nameEnd, 'content-length')) {
      contentLength = decimal(buf, colon + 1, lineEnd);
      if (contentLength < 0) return { error: 'bad RTSP Content-Length' };
    }
    from = lineEnd + 2;
  }
  const bodyStart = from + 2;
  const total = bodyStart + contentLength;
  if (n < total) return null;
  return { status, cseq, contentLength, bodyStart, total };
}

/** Index of the first CRLF at or after `from`, or -1. */
function lineEndFrom(buf: Buffer, from: number): number {
  for (let i = from; i + 1 < buf.length; i++) if (buf[i] === CR && buf[i + 1] === LF) return i;
  return -1;
}

/** One header's value as text (the failure paths only: 401's scheme, a CSeq that is not a number). */
function headerText(buf: Buffer, head: RtspHead, name: string): string | undefined {
  let lineEnd = lineEndFrom(buf, 12);
  while (lineEnd < head.bodyStart - 4) {
    const from = lineEnd + 2;
    lineEnd = lineEndFrom(buf, from);
    const colon = buf.indexOf(COLON, from);
    if (colon > from && colon < lineEnd && nameIs(buf, from, colon, name)) return buf.toString('latin1', colon + 1, lineEnd).trim();
  }
  return undefined;
}

function request(method: string, url: string, cseq: number, extra = ''): string {
  return `${method} ${url} RTSP/1.0\r\nCSeq: ${cseq}\r\nUser-Agent: Vigil\r\n${extra}\r\n`;
}

type Phase = 'connect' | 'options' | 'describe';

/** The URL and first request of a target, built once per target rather than once per check. */
const requests = new WeakMap<ProbeTarget, { url: string; options: Buffer }>();

function requestsOf(target: ProbeTarget): { url: string; options: Buffer } {
  let r = requests.get(target);
  if (r === undefined) {
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    const path = target.path ? (target.path.startsWith('/') ? target.path : `/${target.path}`) : '/';
    const url = `rtsp://${host}:${target.port}${path}`;
    r = { url, options: Buffer.from(request('OPTIONS', url, 1), 'latin1') };
    requests.set(target, r);
  }
  return r;
}

const SDP_START = Buffer.from('v=0', 'latin1');

/**
 * RTSP/1.0 `OPTIONS` (answered without credentials by compliant servers), then optionally `DESCRIBE`
 * (200 with an SDP body means a stream exists). 401 on either is `auth_required`: the device is alive.
 * The CSeq of each answer must echo ours, otherwise it is a protocol error. One object per check
 * implements the socket callbacks (hot path: no closures per check); an answer that arrives in one read —
 * nearly all of them — is judged from that chunk's bytes, without copying or decoding it.
 */
class RtspCheck extends SocketCheck {
  private buf: Buffer | null = null;
  private received = 0;
  private cseq = 1;
  private phase: Phase = 'connect';

  protected expired(why: 'timeout' | 'aborted'): ProbeResult {
    return result('timeout', this.startedAt, { detail: why === 'aborted' ? 'aborted' : `no complete answer (${this.phase})` });
  }

  onConnect(): void {
    this.phase = 'options';
    this.conn.writeBytes(requestsOf(this.target).options);
  }

  onData(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.received > MAX_READ_BYTES) {
      this.finish(result('protocol_error', this.startedAt, { detail: `answer exceeds ${MAX_READ_BYTES} bytes` }));
      return;
    }
    // The chunk may be a view of a buffer the socket layer reuses: keep a copy only when waiting for more.
    const buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    const head = scanRtspHead(buf);
    if (head === null) {
      this.buf = this.buf === null ? Buffer.from(chunk) : buf;
      return;
    }
    if ('error' in head) {
      this.finish(result('protocol_error', this.startedAt, { detail: head.error }));
      return;
    }
    // bytes after this answer (rare) wait for the next phase
    this.buf = buf.length > head.total ? Buffer.from(buf.subarray(head.total)) : null;
    this.judge(buf, head);
  }

  private judge(buf: Buffer, head: RtspHead): void {
    const phase = this.phase;
    if (head.cseq !== this.cseq) {
      // never echo the target's bytes: say what is wrong, not what it sent
      const missing = head.cseq < 0 && headerText(buf, head, 'cseq') === undefined;
      this.finish(result('protocol_error', this.startedAt, { status: head.status, detail: missing ? 'answer has no CSeq' : 'answer CSeq does not match the request' }));
      return;
    }
    if (head.status === 401) {
      this.finish(result('auth_required', this.startedAt, { status: 401, detail: `${phase.toUpperCase()} needs ${authScheme(headerText(buf, head, 'www-authenticate'))} credentials` }));
      return;
    }
    if (head.status !== 200) {
      this.finish(result('protocol_error', this.startedAt, { status: head.status, detail: `${phase.toUpperCase()} answered ${head.status}` }));
      return;
    }
    if (phase === 'options' && this.target.describe) {
      this.phase = 'describe';
      this.cseq += 1;
      this.conn.write(request('DESCRIBE', requestsOf(this.target).url, this.cseq, 'Accept: application/sdp\r\n'));
      return;
    }
    if (phase === 'describe' && (head.contentLength < SDP_START.length || buf.compare(SDP_START, 0, SDP_START.length, head.bodyStart, head.bodyStart + SDP_START.length) !== 0)) {
      this.finish(result('protocol_error', this.startedAt, { status: 200, detail: 'DESCRIBE answer has no SDP body' }));
      return;
    }
    this.finish(result('ok', this.startedAt, OK_200));
  }

  onEnd(): void {
    this.finish(result(this.phase === 'connect' ? 'reset' : 'protocol_error', this.startedAt, { detail: `peer closed during ${this.phase}` }));
  }

  onError(code: string): void {
    const c = classifyNetError(code);
    this.finish(result(c.outcome, this.startedAt, { detail: c.detail }));
  }
}

const OK_200 = { status: 200 } as const;

export const rtspProbe: Probe = {
  kind: 'rtsp',
  check(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
    return new Promise<ProbeResult>((resolve) => new RtspCheck(target, signal, resolve));
  },
  run(target: ProbeTarget, done: (r: ProbeResult) => void): void {
    new RtspCheck(target, undefined, done);
  },
};
