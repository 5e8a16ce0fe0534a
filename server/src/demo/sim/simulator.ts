import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { faultSchema, scenarioSchema, selectorSchema, UP, type Action, type Fault, type FaultInput, type ScenarioInput, type Selector } from './faults';
import { answerRtspRequests, digestValid, GARBAGE, MAX_REQUEST_BYTES, normaliseAddr, REALM, type RtspSession } from './protocol';
import { listenRawRtsp, rawListenerAvailable, type RawRtspListener } from './raw-listener';

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

/**
 * How the RTSP-port listener is built: `raw` serves the hot actions on libuv handles directly
 * (raw-listener.ts), `net` is the public `net.Server` for everything.
 */
export type SimSocketKind = 'raw' | 'net';

export interface SimulatorOptions {
  cameras: SimCameraSpec[];
  /** The ports every camera answers on (0 = pick a free port). */
  rtspPort?: number;
  httpPort?: number;
  /**
   * `wildcard` (default): one listener per port on `listenHost` (default 0.0.0.0), which answers only
   * connections dialled to a camera's address — cheap for 300,000 cameras (the CLI and benchmarks).
   * `cameras`: one listener per camera and port on the camera's own address, which must lie in
   * 127.0.0.0/8, so nothing listens beyond loopback (the in-process demo simulator; two descriptors per
   * camera).
   */
  bind?: 'wildcard' | 'cameras';
  listenHost?: string;
  /** Control API, on loopback only. */
  controlPort?: number;
  controlHost?: string;
  /**
   * RTSP-port listener (default: VIGIL_SIM_SOCKET, else `raw`); `raw` quietly stays `net` where the
   * runtime lacks the bindings or listenHost is not an IP literal.
   */
  socket?: SimSocketKind;
}

export interface RunningSimulator {
  rtspPort: number;
  httpPort: number;
  /** The RTSP-port listener actually in use. */
  socket: SimSocketKind;
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

/** 127.16.1.1, 127.16.1.2, … — skips .0 and .255 octets; 64,516 cameras per second octet. */
export function simAddress(i: number): string {
  return `127.${16 + Math.floor(i / 64_516)}.${(Math.floor(i / 254) % 254) + 1}.${(i % 254) + 1}`;
}

/**
 * A dotted-quad IPv4 address as its 32-bit number, or -1 for anything else (including leading zeros, so
 * every number has one spelling). Every connection looks its camera up by the address it dialled; with
 * 300,000 cameras a Map keyed by a fresh string costs a hash of it plus a compare against a key string
 * somewhere in memory, which showed up as ~20 % of the simulator's user time; a number key does not.
 */
export function ipv4Number(s: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? n * 256 + part : -1;
}

/** VIGIL_SIM_SOCKET chooses the RTSP listener when the caller does not (lets a whole test run use `net`). */
function defaultSocketKind(): SimSocketKind {
  return process.env.VIGIL_SIM_SOCKET === 'net' ? 'net' : 'raw';
}

/**
 * N simulated cameras on loopback. One wildcard listener per protocol; `socket.localAddress` tells which
 * camera was dialled (DESIGN.md: one port from one client address caps at ≈470 new connections/s, so
 * every camera gets its own 127.x.y.z). HTTP serves both ONVIF (/onvif/device_service) and the
 * Hikvision-style /ISAPI/System/status, as real cameras do on port 80.
 */
export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const cameras = new Map<string, SimCamera>();
  /** The same cameras by IPv4 number: the per-connection lookup (see ipv4Number). */
  const byIp = new Map<number, SimCamera>();
  const regionFaults = new Map<string, Fault>();
  const byRegion = new Map<string, SimCamera[]>();
  for (const c of opts.cameras) {
    const regions = [...(c.regionId ? [c.regionId] : []), ...(c.ancestorRegionIds ?? [])];
    const cam: SimCamera = { addr: c.addr, id: c.id, regionId: c.regionId, regions, credentials: c.credentials, fault: faultSchema.parse(c.fault ?? UP), connections: 0 };
    cameras.set(c.addr, cam);
    const ip = ipv4Number(c.addr);
    if (ip >= 0) byIp.set(ip, cam);
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
  /** Decides once per connection (counting it): the camera and action, or null for an unknown address. */
  const decide = (localAddress: string): { cam: SimCamera; action: Action } | null => {
    const ip = ipv4Number(localAddress);
    const cam = ip >= 0 ? byIp.get(ip) : cameras.get(localAddress);
    if (!cam) {
      counts.unknown++;
      return null;
    }
    const action = actionFor(cam);
    counts[action]++;
    return { cam, action };
  };
  /** A decided connection on a public socket; returns it when the protocol code should take over. */
  const adopt = (socket: net.Socket, decided: { cam: SimCamera; action: Action } | null): { cam: SimCamera; action: Action } | null => {
    socket.on('error', () => undefined);
    if (!decided || decided.action === 'down') {
      socket.resetAndDestroy();
      return null;
    }
    const { action } = decided;
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
    return decided;
  };
  const accept = (socket: net.Socket): { cam: SimCamera; action: Action } | null => adopt(socket, decide(normaliseAddr(socket.localAddress)));

  /** The RTSP port on a public socket: every action on the `net` listener, the cold ones on the raw one. */
  const serveRtsp = (socket: net.Socket, decided: { cam: SimCamera; action: Action } | null): void => {
    const accepted = adopt(socket, decided);
    if (!accepted) return;
    const { cam, action } = accepted;
    if (action === 'garbage') {
      socket.once('data', () => socket.end(GARBAGE));
      return;
    }
    if (action === 'down' || action === 'blackhole') return; // dealt with in adopt()
    const session: RtspSession = {
      cam,
      action,
      reply: (text) =>
        later(action === 'slow' ? latencyOf(cam) : 0, () => {
          if (!socket.destroyed) socket.write(text, 'latin1');
        }),
    };
    // A tcp connect check sends nothing: nothing is parsed until bytes arrive.
    let buf = '';
    socket.on('data', (data: Buffer) => {
      // Complete requests are answered first: only an unfinished one longer than the limit is refused
      // (one read can carry 64 KB of whole requests plus the tail of the previous one).
      buf = answerRtspRequests(session, buf + data.toString('latin1'), nonce);
      if (buf.length > MAX_REQUEST_BYTES) socket.destroy();
    });
  };

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
  const serveRtspSocket = (socket: net.Socket): void => serveRtsp(socket, decide(normaliseAddr(socket.localAddress)));
  let rawRtsp: RawRtspListener | null = null;
  let rtspServer: net.Server | null = null;
  /** `bind: 'cameras'`: the listeners on each camera's address (the HTTP ones hand their sockets to httpServer). */
  let perCamera: net.Server[] = [];
  let rtspPort: number;
  let httpPort: number;
  if (opts.bind === 'cameras') {
    const bound = await listenOnCameras([...cameras.keys()], opts.rtspPort ?? 0, opts.httpPort ?? 0, serveRtspSocket, (socket) => httpServer.emit('connection', socket));
    ({ rtspPort, httpPort } = bound);
    perCamera = bound.servers;
  } else {
    const listenHost = opts.listenHost ?? '0.0.0.0';
    const wantRaw = (opts.socket ?? defaultSocketKind()) === 'raw' && rawListenerAvailable;
    rawRtsp = wantRaw
      ? listenRawRtsp({ host: listenHost, port: opts.rtspPort ?? 0, backlog: 4096, nonce, decide, handOff: (socket, cam, action) => serveRtsp(socket, { cam, action }) })
      : null;
    rtspServer = rawRtsp ? null : net.createServer({ allowHalfOpen: false }, serveRtspSocket);
    rtspPort = rawRtsp ? rawRtsp.port : await listen(rtspServer as net.Server, opts.rtspPort ?? 0, listenHost);
    try {
      httpPort = await listen(httpServer, opts.httpPort ?? 0, listenHost);
    } catch (err) {
      await (rawRtsp ? rawRtsp.close() : new Promise<void>((resolve) => rtspServer?.close(() => resolve())));
      throw err;
    }
  }

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
    socket: rawRtsp ? 'raw' : 'net',
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
      await Promise.all([
        rawRtsp?.close(),
        closeAll(perCamera),
        ...[rtspServer, opts.bind === 'cameras' ? null : httpServer, control].map((srv) => srv && new Promise<void>((resolve) => srv.close(() => resolve()))),
      ]);
      if (opts.bind === 'cameras') httpServer.closeAllConnections();
    },
  };
  const control = controlServer(sim, regionFaults);
  const controlPort = await listen(control, opts.controlPort ?? 0, opts.controlHost ?? '127.0.0.1');
  return { ...sim, controlUrl: `http://${opts.controlHost ?? '127.0.0.1'}:${controlPort}` };
}

function closeAll(servers: net.Server[]): Promise<void> {
  return Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve())))).then(() => undefined);
}

function listenOne(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: 511 }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * One RTSP and one HTTP listener on each camera's own loopback address, all on the same two ports. Port 0:
 * the first camera's listener picks a free port and the others take the same one; when another
 * address already holds it (a wildcard listener elsewhere on this machine), everything is closed and
 * tried again on new ports.
 */
async function listenOnCameras(
  addrs: string[],
  rtspPort: number,
  httpPort: number,
  onRtsp: (socket: net.Socket) => void,
  onHttp: (socket: net.Socket) => void,
): Promise<{ rtspPort: number; httpPort: number; servers: net.Server[] }> {
  for (const a of addrs) {
    if (net.isIPv4(a) ? !a.startsWith('127.') : true) throw new Error(`a simulated camera bound to its own address needs one in 127.0.0.0/8, got ${a}`);
  }
  for (let attempt = 0; ; attempt++) {
    const servers: net.Server[] = [];
    try {
      let rtsp = rtspPort;
      let http = httpPort;
      for (const addr of addrs) {
        const r = net.createServer({ allowHalfOpen: false }, onRtsp);
        servers.push(r);
        rtsp = await listenOne(r, addr, rtsp);
        const h = net.createServer({ allowHalfOpen: false }, onHttp);
        servers.push(h);
        http = await listenOne(h, addr, http);
      }
      return { rtspPort: rtsp, httpPort: http, servers };
    } catch (err) {
      await closeAll(servers.filter((srv) => srv.listening));
      const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!inUse || (rtspPort !== 0 && httpPort !== 0) || attempt >= 4) throw err;
    }
  }
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
        if (m === 'GET' && parts[0] === 'health') return json(res, 200, { ok: true, cameras: sim.cameras.size, rtspPort: sim.rtspPort, httpPort: sim.httpPort, socket: sim.socket });
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
