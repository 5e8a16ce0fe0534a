import http from 'node:http';
import { armDeadline, authScheme, classifyNetError, MAX_READ_BYTES, result, type Probe, type ProbeResult, type ProbeTarget } from './types';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** ms to the response head. */
  rttMs: number;
}

/**
 * One HTTP/1.1 exchange with the raw `http` module (no keep-alive agent, no axios: ≈220 µs vs ≈600 µs per
 * request, DESIGN.md), bounded by the deadline as a whole and by MAX_READ_BYTES. Network failures come back
 * as a classified ProbeResult, never a throw. Shared by the http and onvif probes.
 */
export function httpExchange(
  target: ProbeTarget,
  req: { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string },
  signal?: AbortSignal,
): Promise<HttpAnswer | ProbeResult> {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    let settled = false;
    let headAt = 0;
    const finish = (r: HttpAnswer | ProbeResult): void => {
      if (settled) return;
      settled = true;
      disarm();
      request.destroy();
      resolve(r);
    };
    const request = http.request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.path,
      agent: false,
      headers: {
        'user-agent': 'Vigil',
        connection: 'close',
        ...(req.body !== undefined ? { 'content-length': String(Buffer.byteLength(req.body)) } : {}),
        ...req.headers,
      },
    });
    const disarm = armDeadline(target.timeoutMs, signal, (why) => {
      finish(result('timeout', startedAt, { detail: why === 'aborted' ? 'aborted' : headAt ? 'body incomplete' : 'no answer' }));
    });
    request.once('response', (res) => {
      headAt = performance.now();
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_READ_BYTES) {
          finish(result('protocol_error', startedAt, { status: res.statusCode, detail: `answer exceeds ${MAX_READ_BYTES} bytes` }));
          return;
        }
        chunks.push(chunk);
      });
      res.once('end', () => {
        finish({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          rttMs: Math.round((headAt - startedAt) * 1000) / 1000,
        });
      });
      res.once('error', (err: NodeJS.ErrnoException) => {
        const c = classifyNetError(err);
        finish(result(c.outcome, startedAt, { status: res.statusCode, detail: c.detail }));
      });
    });
    request.once('error', (err: NodeJS.ErrnoException) => {
      // Node reports bytes that are not HTTP as HPE_* parse errors: the peer answered, with garbage.
      if (typeof err.code === 'string' && err.code.startsWith('HPE_')) {
        finish(result('protocol_error', startedAt, { detail: `not HTTP (${err.code})` }));
        return;
      }
      const c = classifyNetError(err);
      finish(result(c.outcome, startedAt, { detail: c.detail }));
    });
    request.end(req.body);
  });
}

export function isAnswer(r: HttpAnswer | ProbeResult): r is HttpAnswer {
  return 'headers' in r;
}

/**
 * Vendor HTTP status page, e.g. Hikvision `/ISAPI/System/status` (the default path). An expected status
 * (default 200) is ok; 401 is auth_required (the device is alive, it wants Digest credentials); any other
 * status is a protocol error naming it.
 */
export const httpProbe: Probe = {
  kind: 'http',
  async check(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
    const answer = await httpExchange(target, { method: 'GET', path: target.path ?? '/ISAPI/System/status' }, signal);
    if (!isAnswer(answer)) return answer;
    const expected = target.expectStatus ?? [200];
    const base = { up: true, rttMs: answer.rttMs, status: answer.status };
    if (expected.includes(answer.status)) return { ...base, outcome: 'ok' };
    if (answer.status === 401) {
      return { ...base, outcome: 'auth_required', detail: `needs ${authScheme(answer.headers['www-authenticate'])} credentials` };
    }
    return { ...base, up: false, outcome: 'protocol_error', detail: `status ${answer.status}, expected ${expected.join('|')}` };
  },
};
