import crypto from 'node:crypto';
import type { Action } from './faults';

/**
 * The simulator's wire protocol text, shared by its two RTSP listeners (the raw libuv one and the `net`
 * one) and its HTTP listener, so that both RTSP paths answer byte for byte the same.
 */

export const REALM = 'VigilSim';
export const GARBAGE = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x47, 0x41, 0x52, 0x42, 0x41, 0x47, 0x45, 0x0d, 0x0a, 0x00, 0x9c]);
/** A connection that sent more than this without completing a request is dropped. */
export const MAX_REQUEST_BYTES = 65_536;

export interface Credentials {
  username: string;
  password: string;
}

/** What the protocol code needs to know about a camera. */
export interface ProtocolCamera {
  readonly addr: string;
  readonly credentials?: Credentials;
}

function md5(s: string): string {
  return crypto.createHash('md5').update(s).digest('hex');
}

/** RFC 2617 Digest without qop (what RTSP cameras use), and with qop=auth (what HTTP clients send). */
export function digestValid(header: string | undefined, method: string, creds: Credentials, nonce: string): boolean {
  if (!header?.startsWith('Digest ')) return false;
  const params = new Map<string, string>();
  for (const m of header.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) params.set(m[1].toLowerCase(), m[2] ?? m[3] ?? '');
  if (params.get('username') !== creds.username || params.get('nonce') !== nonce) return false;
  const ha1 = md5(`${creds.username}:${params.get('realm') ?? REALM}:${creds.password}`);
  const ha2 = md5(`${method}:${params.get('uri') ?? ''}`);
  const qop = params.get('qop');
  const expected = qop
    ? md5(`${ha1}:${nonce}:${params.get('nc') ?? ''}:${params.get('cnonce') ?? ''}:${qop}:${ha2}`)
    : md5(`${ha1}:${nonce}:${ha2}`);
  return params.get('response') === expected;
}

function sdp(addr: string, path: string): string {
  return [
    'v=0',
    `o=- 1 1 IN IP4 ${addr}`,
    `s=Vigil simulated camera ${path}`,
    `c=IN IP4 0.0.0.0`,
    't=0 0',
    'a=control:*',
    'm=video 0 RTP/AVP 96',
    'a=rtpmap:96 H264/90000',
    'a=fmtp:96 packetization-mode=1;profile-level-id=42e01f;sprop-parameter-sets=Z0LgH9oBQBbsBEAAAAMAQAAADyPGDKg=,aM4yyA==',
    'a=control:trackID=1',
    '',
  ].join('\r\n');
}

function pathOf(uri: string): string | null {
  try {
    return new URL(uri.replace(/^rtsp:/, 'http:')).pathname;
  } catch {
    return null;
  }
}

/** One RTSP connection as the protocol code sees it; `reply` sends (or schedules) a complete answer. */
export interface RtspSession {
  readonly cam: ProtocolCamera;
  /** The connection's action, decided at accept: only the answering ones reach the protocol code. */
  readonly action: Extract<Action, 'up' | 'slow' | 'http401' | 'http500'>;
  reply(text: string): void;
}

function response(cseq: string, status: string, extra: string[] = [], body = ''): string {
  const out = [`RTSP/1.0 ${status}`, `CSeq: ${cseq}`, 'Server: VigilSim/1.0', ...extra];
  if (body) out.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${out.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * Answers every complete request at the start of `buf` (latin1 text) through `s.reply`, in order, and
 * returns what is left: the start of a request still in flight, or ''. The caller bounds `buf`
 * (MAX_REQUEST_BYTES).
 */
export function answerRtspRequests(s: RtspSession, buf: string, nonce: string): string {
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return buf;
    const lines = buf.slice(0, end).split('\r\n');
    const headers = new Map<string, string>();
    for (let k = 1; k < lines.length; k++) {
      const l = lines[k];
      const i = l.indexOf(':');
      if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
    }
    const bodyLen = Number(headers.get('content-length') ?? 0) || 0;
    if (buf.length < end + 4 + bodyLen) return buf;
    buf = buf.slice(end + 4 + bodyLen);
    const [method = '', uri = ''] = lines[0].split(' ');
    s.reply(answer(s, method, uri, headers, nonce));
  }
}

function answer(s: RtspSession, method: string, uri: string, headers: Map<string, string>, nonce: string): string {
  const cseq = headers.get('cseq') ?? '0';
  const challenge = `WWW-Authenticate: Digest realm="${REALM}", nonce="${nonce}"`;
  if (s.action === 'http401') return response(cseq, '401 Unauthorized', [challenge]);
  if (s.action === 'http500') return response(cseq, '500 Internal Server Error');
  switch (method) {
    case 'OPTIONS':
      return response(cseq, '200 OK', ['Public: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, GET_PARAMETER']);
    case 'DESCRIBE': {
      if (s.cam.credentials && !digestValid(headers.get('authorization'), method, s.cam.credentials, nonce)) {
        return response(cseq, '401 Unauthorized', [challenge]);
      }
      const path = pathOf(uri);
      if (path === null) return response(cseq, '400 Bad Request');
      const base = uri.endsWith('/') ? uri : `${uri}/`;
      return response(cseq, '200 OK', ['Content-Type: application/sdp', `Content-Base: ${base}`], sdp(s.cam.addr, path));
    }
    case 'SETUP':
      return response(cseq, '461 Unsupported Transport');
    case 'TEARDOWN':
    case 'GET_PARAMETER':
      return response(cseq, '200 OK');
    default:
      return response(cseq, '405 Method Not Allowed', ['Allow: OPTIONS, DESCRIBE, SETUP, TEARDOWN, GET_PARAMETER']);
  }
}

/** A listener's view of the dialled address: IPv4-mapped IPv6 (`::ffff:127.16.1.1`) as plain IPv4. */
export function normaliseAddr(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}
