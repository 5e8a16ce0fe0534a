import net from 'node:net';
import { armDeadline, classifyNetError, MAX_READ_BYTES, result, type Probe, type ProbeResult, type ProbeTarget } from './types';

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
    if (buf.length >= 9 && !buf.subarray(0, 9).toString('latin1').startsWith('RTSP/')) return { error: `not RTSP: ${printable(buf)}` };
    return null;
  }
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const m = /^RTSP\/(\d)\.(\d) (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
  if (!m) return { error: `bad status line: ${printable(buf)}` };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return { error: `bad header line: ${JSON.stringify(line.slice(0, 60))}` };
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const lengthHeader = headers.get('content-length');
  const bodyLength = lengthHeader === undefined ? 0 : Number(lengthHeader);
  if (!Number.isInteger(bodyLength) || bodyLength < 0) return { error: `bad Content-Length: ${lengthHeader}` };
  const total = headEnd + 4 + bodyLength;
  if (buf.length < total) return null;
  return {
    response: { status: Number(m[3]), reason: m[4] ?? '', headers, body: buf.subarray(headEnd + 4, total).toString('utf8') },
    length: total,
  };
}

function printable(buf: Buffer): string {
  return JSON.stringify(buf.subarray(0, 24).toString('latin1'));
}

function request(method: string, url: string, cseq: number, extra = ''): string {
  return `${method} ${url} RTSP/1.0\r\nCSeq: ${cseq}\r\nUser-Agent: Vigil\r\n${extra}\r\n`;
}

/**
 * RTSP/1.0 `OPTIONS` (answered without credentials by compliant servers), then optionally `DESCRIBE`
 * (200 with an SDP body means a stream exists). 401 on either is `auth_required`: the device is alive.
 * The CSeq of each answer must echo ours, otherwise it is a protocol error.
 */
export const rtspProbe: Probe = {
  kind: 'rtsp',
  check(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
    return new Promise<ProbeResult>((resolve) => {
      const startedAt = performance.now();
      const host = target.host.includes(':') ? `[${target.host}]` : target.host;
      const path = target.path ? (target.path.startsWith('/') ? target.path : `/${target.path}`) : '/';
      const url = `rtsp://${host}:${target.port}${path}`;
      let settled = false;
      let buf: Buffer = Buffer.alloc(0);
      let received = 0;
      let cseq = 1;
      let phase: 'connect' | 'options' | 'describe' = 'connect';
      const socket = net.connect({ host: target.host, port: target.port });
      const finish = (r: ProbeResult): void => {
        if (settled) return;
        settled = true;
        disarm();
        socket.destroy();
        resolve(r);
      };
      const disarm = armDeadline(target.timeoutMs, signal, (why) => {
        finish(result('timeout', startedAt, { detail: why === 'aborted' ? 'aborted' : `no complete answer (${phase})` }));
      });
      socket.on('connect', () => {
        phase = 'options';
        socket.write(request('OPTIONS', url, cseq));
      });
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_READ_BYTES) {
          finish(result('protocol_error', startedAt, { detail: `answer exceeds ${MAX_READ_BYTES} bytes` }));
          return;
        }
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        const parsed = parseRtspResponse(buf);
        if (parsed === null) return;
        if ('error' in parsed) {
          finish(result('protocol_error', startedAt, { detail: parsed.error }));
          return;
        }
        const { response } = parsed;
        buf = buf.subarray(parsed.length);
        const echoed = response.headers.get('cseq');
        if (echoed !== String(cseq)) {
          finish(result('protocol_error', startedAt, { status: response.status, detail: `CSeq ${echoed ?? 'missing'} does not echo ${cseq}` }));
          return;
        }
        if (response.status === 401) {
          const scheme = (response.headers.get('www-authenticate') ?? '').split(' ')[0] || 'unknown';
          finish(result('auth_required', startedAt, { status: 401, detail: `${phase.toUpperCase()} needs ${scheme} credentials` }));
          return;
        }
        if (response.status !== 200) {
          finish(result('protocol_error', startedAt, { status: response.status, detail: `${phase.toUpperCase()} answered ${response.status} ${response.reason}`.trim() }));
          return;
        }
        if (phase === 'options' && target.describe) {
          phase = 'describe';
          cseq += 1;
          socket.write(request('DESCRIBE', url, cseq, 'Accept: application/sdp\r\n'));
          return;
        }
        if (phase === 'describe' && !response.body.startsWith('v=0')) {
          finish(result('protocol_error', startedAt, { status: 200, detail: 'DESCRIBE answer has no SDP body' }));
          return;
        }
        finish(result('ok', startedAt, { status: 200 }));
      });
      socket.on('end', () => {
        finish(result(phase === 'connect' ? 'reset' : 'protocol_error', startedAt, { detail: `peer closed during ${phase}` }));
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        const c = classifyNetError(err);
        finish(result(c.outcome, startedAt, { detail: c.detail }));
      });
    });
  },
};
