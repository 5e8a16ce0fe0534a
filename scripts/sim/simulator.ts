import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { faultSchema, scenarioSchema, selectorSchema, UP, type Fault, type FaultInput, type ScenarioInput, type Selector } from './faults';

export interface SimCameraSpec {
  /** The loopback address this camera answers on (127.x.y.z). */
  addr: string;
  /** Registry id (or gbCode) when mapped from a registry export; informational. */
  id?: string;
  regionId?: string;
  /** The region's ancestors (street, district…): a fault set on any of them applies too (a street outage). */
  ancestorRegionIds?: string[];
  /** When set, RTSP DESCRIBE and HTTP /ISAPI want Digest credentials (OPTIONS and ONVIF clock never do). */
  credentials?: { username: string; password: string };
  fault?: FaultInput;
}

interface SimCamera {
  addr: string;
  id?: string;
  regionId?: string;
  /** regionId followed by its ancestors. */
  regions: string[];
  credentials?: { username: string; password: string };
  fault: Fault;
  connections: number;
}

/** What one accepted connection does, decided once at accept time. */
type Action = 'up' | 'down' | 'blackhole' | 'slow' | 'garbage' | 'http401' | 'http500';

export interface SimulatorOptions {
  cameras: SimCameraSpec[];
  /** Wildcard listeners, one per port (0 = pick a free port). */
  rtspPort?: number;
  httpPort?: number;
  listenHost?: string;
  /** Control API, on loopback only. */
  controlPort?: number;
  controlHost?: string;
}

export interface RunningSimulator {
  rtspPort: number;
  httpPort: number;
  controlUrl: string;
  cameras: ReadonlyMap<string, Readonly<SimCamera>>;
  setCameraFault(addr: string, fault: FaultInput): void;
  setRegionFault(regionId: string, fault: FaultInput): void;
  /** Applies a fault to every selected camera; returns their addresses. */
  apply(select: Selector, fault: FaultInput): string[];
  runScenario(s: ScenarioInput): { affected: string[][]; done: Promise<void> };
  stats(): Record<Action | 'unknown', number>;
  stop(): Promise<void>;
}

const REALM = 'VigilSim';
const GARBAGE = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x47, 0x41, 0x52, 0x42, 0x41, 0x47, 0x45, 0x0d, 0x0a, 0x00, 0x9c]);

/** 127.16.1.1, 127.16.1.2, … — skips .0 and .255 octets; 64,516 cameras per second octet. */
export function simAddress(i: number): string {
  return `127.${16 + Math.floor(i / 64_516)}.${(Math.floor(i / 254) % 254) + 1}.${(i % 254) + 1}`;
}

function normaliseAddr(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function md5(s: string): string {
  return crypto.createHash('md5').update(s).digest('hex');
}

/** RFC 2617 Digest without qop (what RTSP cameras use), and with qop=auth (what HTTP clients send). */
function digestValid(header: string | undefined, method: string, creds: { username: string; password: string }, nonce: string): boolean {
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

/**
 * N simulated cameras on loopback. One wildcard listener per protocol; `socket.localAddress` tells which
 * camera was dialled (DESIGN.md: one port from one client address caps at ≈470 new connections/s, so
 * every camera gets its own 127.x.y.z). HTTP serves both ONVIF (/onvif/device_service) and the
 * Hikvision-style /ISAPI/System/status, as real cameras do on port 80.
 */
export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const cameras = new Map<string, SimCamera>();
  const regionFaults = new Map<string, Fault>();
  const byRegion = new Map<string, SimCamera[]>();
  for (const c of opts.cameras) {
    const regions = [...(c.regionId ? [c.regionId] : []), ...(c.ancestorRegionIds ?? [])];
    const cam: SimCamera = { addr: c.addr, id: c.id, regionId: c.regionId, regions, credentials: c.credentials, fault: faultSchema.parse(c.fault ?? UP), connections: 0 };
    cameras.set(c.addr, cam);
    for (const r of regions) {
      const list = byRegion.get(r) ?? [];
      list.push(cam);
      byRegion.set(r, list);
    }
  }
  const nonce = crypto.randomBytes(12).toString('hex');
  const epoch = Date.now();
  const counts: Record<Action | 'unknown', number> = { up: 0, down: 0, blackhole: 0, slow: 0, garbage: 0, http401: 0, http500: 0, unknown: 0 };
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const regionFaultOf = (cam: SimCamera): Fault | undefined => {
    if (regionFaults.size === 0) return undefined;
    for (const r of cam.regions) {
      const f = regionFaults.get(r);
      if (f && f.mode !== 'up') return f;
    }
    return undefined;
  };
  const actionFor = (cam: SimCamera): Action => {
    const f = regionFaultOf(cam) ?? cam.fault;
    const n = cam.connections++;
    switch (f.mode) {
      case 'up':
      case 'down':
      case 'blackhole':
      case 'slow':
      case 'garbage':
      case 'http401':
      case 'http500':
        return f.mode;
      case 'reset':
        return 'down';
      case 'flapping': {
        const i = f.stepMs > 0 ? Math.floor((Date.now() - epoch) / f.stepMs) : n;
        return f.pattern[i % f.pattern.length] === 'U' ? 'up' : 'down';
      }
    }
  };
  const latencyOf = (cam: SimCamera): number => (regionFaultOf(cam) ?? cam.fault).latencyMs;
  const later = (ms: number, fn: () => void): void => {
    if (ms <= 0) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  /** Decides at accept; returns the camera and action, or null when the connection was already dealt with. */
  const accept = (socket: net.Socket): { cam: SimCamera; action: Action } | null => {
    socket.on('error', () => undefined);
    const cam = cameras.get(normaliseAddr(socket.localAddress));
    if (!cam) {
      counts.unknown++;
      socket.resetAndDestroy();
      return null;
    }
    const action = actionFor(cam);
    counts[action]++;
    if (action === 'down') {
      socket.resetAndDestroy();
      return null;
    }
    // Only connections that can outlive a probe are tracked for stop(); the rest close on their own.
    if (action === 'blackhole' || action === 'slow') {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
    if (action === 'blackhole') {
      socket.on('data', () => undefined);
      // The peer gave up: close our side too, or CLOSE_WAIT sockets pile up.
      socket.once('end', () => socket.destroy());
      return null;
    }
    return { cam, action };
  };

  const rtspServer = net.createServer({ allowHalfOpen: false }, (socket) => {
    const accepted = accept(socket);
    if (!accepted) return;
    const { cam, action } = accepted;
    if (action === 'garbage') {
      socket.once('data', () => socket.end(GARBAGE));
      return;
    }
    // A tcp connect check sends nothing: no parser is set up until bytes arrive.
    let buf = '';
    socket.on('data', (data: Buffer) => {
      buf += data.toString('latin1');
      if (buf.length > 65_536) {
        socket.destroy();
        return;
      }
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        const lines = head.split('\r\n');
        const headers = new Map<string, string>();
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
        }
        const bodyLen = Number(headers.get('content-length') ?? 0) || 0;
        if (buf.length < end + 4 + bodyLen) return;
        buf = buf.slice(end + 4 + bodyLen);
        const [method = '', uri = ''] = (lines[0] ?? '').split(' ');
        const cseq = headers.get('cseq') ?? '0';
        const reply = (status: string, extra: string[] = [], body = ''): void => {
          const out = [`RTSP/1.0 ${status}`, `CSeq: ${cseq}`, 'Server: VigilSim/1.0', ...extra];
          if (body) out.push(`Content-Length: ${Buffer.byteLength(body)}`);
          const text = `${out.join('\r\n')}\r\n\r\n${body}`;
          later(action === 'slow' ? latencyOf(cam) : 0, () => {
            if (!socket.destroyed) socket.write(text);
          });
        };
        if (action === 'http401') reply('401 Unauthorized', [`WWW-Authenticate: Digest realm="${REALM}", nonce="${nonce}"`]);
        else if (action === 'http500') reply('500 Internal Server Error');
        else if (method === 'OPTIONS') reply('200 OK', ['Public: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, GET_PARAMETER']);
        else if (method === 'DESCRIBE') {
          if (cam.credentials && !digestValid(headers.get('authorization'), method, cam.credentials, nonce)) {
            reply('401 Unauthorized', [`WWW-Authenticate: Digest realm="${REALM}", nonce="${nonce}"`]);
          } else {
            const base = uri.endsWith('/') ? uri : `${uri}/`;
            reply('200 OK', ['Content-Type: application/sdp', `Content-Base: ${base}`], sdp(cam.addr, new URL(uri.replace(/^rtsp:/, 'http:')).pathname));
          }
        } else if (method === 'SETUP') reply('461 Unsupported Transport');
        else if (method === 'TEARDOWN' || method === 'GET_PARAMETER') reply('200 OK');
        else reply('405 Method Not Allowed', ['Allow: OPTIONS, DESCRIBE, SETUP, TEARDOWN, GET_PARAMETER']);
      }
    });
  });

  const actions = new WeakMap<net.Socket, { cam: SimCamera; action: Action }>();
  const httpServer = http.createServer((req, res) => {
    const decided = actions.get(req.socket);
    if (!decided) return;
    const { cam, action } = decided;
    const respond = (): void => {
      if (res.destroyed) return;
      if (action === 'garbage') {
        req.socket.end(GARBAGE);
        return;
      }
      if (action === 'http401') {
        res.writeHead(401, { 'www-authenticate': `Digest realm="${REALM}", qop="auth", nonce="${nonce}"` }).end();
        return;
      }
      if (action === 'http500') {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
        return;
      }
      const url = req.url ?? '/';
      if (req.method === 'POST' && url.startsWith('/onvif/device_service')) {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          res.setHeader('content-type', 'application/soap+xml; charset=utf-8');
          if (body.includes('GetSystemDateAndTime')) res.writeHead(200).end(onvifTime(new Date()));
          else if (cam.credentials) res.writeHead(401, { 'www-authenticate': `Digest realm="${REALM}", qop="auth", nonce="${nonce}"` }).end();
          else res.writeHead(400).end(soapFault('ter:ActionNotSupported'));
        });
        return;
      }
      if (req.method === 'GET' && url.startsWith('/ISAPI/System/status')) {
        if (cam.credentials && !digestValid(req.headers.authorization, 'GET', cam.credentials, nonce)) {
          res.writeHead(401, { 'www-authenticate': `Digest realm="${REALM}", qop="auth", nonce="${nonce}"` }).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/xml' }).end(isapiStatus(cam));
        return;
      }
      res.writeHead(404).end();
    };
    later(action === 'slow' ? latencyOf(cam) : 0, respond);
  });
  httpServer.on('connection', (socket: net.Socket) => {
    const accepted = accept(socket);
    if (accepted) actions.set(socket, accepted);
  });

  const listen = (server: net.Server, port: number, host: string): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, backlog: 4096 }, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const listenHost = opts.listenHost ?? '0.0.0.0';
  const rtspPort = await listen(rtspServer, opts.rtspPort ?? 0, listenHost);
  const httpPort = await listen(httpServer, opts.httpPort ?? 0, listenHost);

  const select = (s: Selector): SimCamera[] => {
    if ('camera' in s) {
      const c = cameras.get(s.camera);
      return c ? [c] : [];
    }
    if ('addresses' in s) return s.addresses.map((a) => cameras.get(a)).filter((c): c is SimCamera => Boolean(c));
    if ('region' in s) return byRegion.get(s.region) ?? [];
    if ('all' in s) return [...cameras.values()];
    // Deterministic: a seeded LCG picks which cameras fall into the fraction.
    let x = s.seed >>> 0 || 1;
    const out: SimCamera[] = [];
    for (const c of cameras.values()) {
      x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0;
      if (x / 2 ** 32 < s.fraction) out.push(c);
    }
    return out;
  };
  const sim: Omit<RunningSimulator, 'controlUrl'> = {
    rtspPort,
    httpPort,
    cameras,
    setCameraFault(addr, fault) {
      const cam = cameras.get(addr);
      if (!cam) throw new Error(`no simulated camera at ${addr}`);
      cam.fault = faultSchema.parse(fault);
    },
    setRegionFault(regionId, fault) {
      const f = faultSchema.parse(fault);
      if (f.mode === 'up') regionFaults.delete(regionId);
      else regionFaults.set(regionId, f);
    },
    apply(s, fault) {
      const f = faultSchema.parse(fault);
      const picked = select(selectorSchema.parse(s));
      for (const c of picked) c.fault = f;
      return picked.map((c) => c.addr);
    },
    runScenario(input) {
      const scenario = scenarioSchema.parse(input);
      const affected: string[][] = scenario.steps.map((st) => select(st.select).map((c) => c.addr));
      const done = Promise.all(
        scenario.steps.map(
          (st, i) =>
            new Promise<void>((resolve) =>
              later(st.atMs, () => {
                for (const a of affected[i]) {
                  const cam = cameras.get(a);
                  if (cam) cam.fault = st.fault;
                }
                resolve();
              }),
            ),
        ),
      ).then(() => undefined);
      return { affected, done };
    },
    stats: () => ({ ...counts }),
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await Promise.all(
        [rtspServer, httpServer, control].map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))),
      );
    },
  };
  const control = controlServer(sim, regionFaults);
  const controlPort = await listen(control, opts.controlPort ?? 0, opts.controlHost ?? '127.0.0.1');
  return { ...sim, controlUrl: `http://${opts.controlHost ?? '127.0.0.1'}:${controlPort}` };
}

function onvifTime(now: Date): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema">' +
    '<s:Body><tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>' +
    '<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>' +
    '<tt:TimeZone><tt:TZ>CST-8</tt:TZ></tt:TimeZone><tt:UTCDateTime>' +
    `<tt:Time><tt:Hour>${now.getUTCHours()}</tt:Hour><tt:Minute>${now.getUTCMinutes()}</tt:Minute><tt:Second>${now.getUTCSeconds()}</tt:Second></tt:Time>` +
    `<tt:Date><tt:Year>${now.getUTCFullYear()}</tt:Year><tt:Month>${now.getUTCMonth() + 1}</tt:Month><tt:Day>${now.getUTCDate()}</tt:Day></tt:Date>` +
    '</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></s:Body></s:Envelope>'
  );
}

function soapFault(subcode: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:ter="http://www.onvif.org/ver10/error">' +
    `<s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>${subcode}</s:Value></s:Subcode></s:Code>` +
    '<s:Reason><s:Text xml:lang="en">action not supported by the simulator</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>'
  );
}

function isapiStatus(cam: SimCamera): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><DeviceStatus version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">' +
    `<currentDeviceTime>${new Date().toISOString()}</currentDeviceTime><deviceUpTime>${process.uptime().toFixed(0)}</deviceUpTime>` +
    `<CPUList><CPU><cpuDescription>sim ${cam.addr}</cpuDescription><cpuUtilization>3</cpuUtilization></CPU></CPUList></DeviceStatus>`
  );
}

function controlServer(sim: Omit<RunningSimulator, 'controlUrl'>, regionFaults: Map<string, Fault>): http.Server {
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const url = new URL(req.url ?? '/', 'http://sim');
        const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
        const body: unknown = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
        const m = req.method ?? 'GET';
        if (m === 'GET' && parts[0] === 'health') return json(res, 200, { ok: true, cameras: sim.cameras.size, rtspPort: sim.rtspPort, httpPort: sim.httpPort });
        if (m === 'GET' && parts[0] === 'stats') return json(res, 200, sim.stats());
        if (parts[0] === 'cameras' && parts.length === 1 && m === 'GET') {
          const limit = Number(url.searchParams.get('limit') ?? 1000);
          return json(res, 200, [...sim.cameras.values()].slice(0, limit).map((c) => ({ addr: c.addr, id: c.id, regionId: c.regionId, fault: c.fault })));
        }
        if (parts[0] === 'cameras' && parts[2] === 'fault' && parts.length === 3) {
          const cam = sim.cameras.get(parts[1]);
          if (!cam) return json(res, 404, { error: `no simulated camera at ${parts[1]}` });
          if (m === 'PUT') sim.setCameraFault(cam.addr, faultSchema.parse(body));
          else if (m !== 'GET') return json(res, 405, { error: 'GET or PUT' });
          return json(res, 200, { addr: cam.addr, fault: cam.fault, regionFault: cam.regionId ? (regionFaults.get(cam.regionId) ?? null) : null });
        }
        if (parts[0] === 'regions' && parts[2] === 'fault' && parts.length === 3 && m === 'PUT') {
          sim.setRegionFault(parts[1], faultSchema.parse(body));
          return json(res, 200, { regionId: parts[1], fault: regionFaults.get(parts[1]) ?? UP });
        }
        if (parts[0] === 'faults' && m === 'POST') {
          const b = body as { select: unknown; fault: unknown };
          const addrs = sim.apply(selectorSchema.parse(b.select), faultSchema.parse(b.fault));
          return json(res, 200, { affected: addrs.length, addresses: addrs });
        }
        if (parts[0] === 'scenario' && m === 'POST') {
          const { affected } = sim.runScenario(scenarioSchema.parse(body));
          return json(res, 202, { steps: affected.map((a) => ({ affected: a.length, addresses: a.slice(0, 10_000) })) });
        }
        return json(res, 404, { error: `no route ${m} ${url.pathname}` });
      } catch (err) {
        return json(res, 400, { error: err instanceof Error ? err.message : String(err) });
      }
    });
  });
}
