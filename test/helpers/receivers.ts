import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * Local stand-ins for the services alerts talk to: an HTTP capture server that plays a robot or a webhook
 * receiver (every request recorded, answers programmable), and an HTTP CONNECT/forward proxy that records
 * what it tunnelled. Both on 127.0.0.1, port 0.
 */

export interface Captured {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Parsed JSON body (undefined when not JSON). */
  json: Json;
  /** The capture's clock when the request arrived (ms). */
  at: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface CaptureServer {
  url: string;
  port: number;
  requests: Captured[];
  /** Decides each answer (default: 200 `{"errcode":0,"errmsg":"ok"}`); a promise holds the answer back. */
  reply: (req: Captured) => Reply | Promise<Reply>;
  close(): Promise<void>;
}

export async function captureServer(opts: { clock?: () => number; reply?: (req: Captured) => Reply | Promise<Reply> } = {}): Promise<CaptureServer> {
  const clock = opts.clock ?? Date.now;
  const state: CaptureServer = {
    url: '',
    port: 0,
    requests: [],
    reply: opts.reply ?? (() => ({ body: { errcode: 0, errmsg: 'ok' } })),
    close: () => Promise.resolve(),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Json;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const captured: Captured = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, json, at: clock() };
      state.requests.push(captured);
      void Promise.resolve(state.reply(captured)).then((r) => {
        if (res.destroyed) return;
        res.writeHead(r.status ?? 200, { 'content-type': 'application/json', ...(r.headers ?? {}) });
        res.end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? {}));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

export interface TestProxy {
  url: string;
  /** `CONNECT host:port` targets and absolute-URI forward requests seen. */
  tunnels: string[];
  close(): Promise<void>;
}

/** A minimal HTTP proxy: CONNECT tunnels and absolute-URI forwarding. */
export async function testProxy(): Promise<TestProxy> {
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    // forward proxy: absolute-URI request
    tunnels.push(`GET ${req.url ?? ''}`);
    const target = new URL(req.url ?? '');
    const up = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream).add(client);
    const drop = (): void => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', drop);
    client.on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
