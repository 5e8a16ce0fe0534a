import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { expect } from 'chai';
import { targetOf, type PointConfig } from '../../server/src/monitoring/service';
import { probes } from '../../server/src/probes';
import { bootApp, type TestApp } from '../helpers/app';
import { anonymous, type ApiClient } from '../helpers/http';

interface SimState { running: boolean; cameras: number; rtspPort: number | null; httpPort: number | null; controlUrl: string | null }
interface DemoPoint { endpoint: { host: string; rtspPort: number; httpPort: number; onvifPort: number } }

/** Listening TCP sockets on these ports, from Linux's /proc/net/tcp and tcp6 (state 0A = LISTEN). */
function listenersOn(ports: number[]): Array<{ address: string; port: number }> {
  const out: Array<{ address: string; port: number }> = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue;
      const [hexAddr, hexPort] = cols[1].split(':');
      const port = parseInt(hexPort, 16);
      if (!ports.includes(port)) continue;
      // IPv4: one little-endian 32-bit word; IPv6: four of them
      const words = hexAddr.match(/.{8}/g) ?? [];
      const bytes = words.flatMap((w) => [6, 4, 2, 0].map((i) => parseInt(w.slice(i, i + 2), 16)));
      const address = bytes.length === 4 ? bytes.join('.') : bytes.every((b) => b === 0) ? '::' : bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
      out.push({ address, port });
    }
  }
  return out;
}

/** Resolves 'refused' or 'accepted' for a TCP connect. */
function dial(host: string, port: number): Promise<'refused' | 'accepted'> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => {
      s.destroy();
      resolve('accepted');
    });
    s.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolve('refused') : reject(err)));
  });
}

describe('demo district simulator (first run)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let api: ApiClient;
  before(async () => {
    // bootApp configures DEMO_SIM_RTSP_PORT / DEMO_SIM_HTTP_PORT = 0: the simulator takes any free ports
    app = await bootApp({ AUTH_MODE: 'open' });
    api = anonymous(app);
  });
  after(async () => {
    await app.close();
  });

  it('when the demo district is not loaded, then starting the simulator is refused with 409', async () => {
    const res = await api.post('/demo/simulator', {});
    expect(res.status).to.equal(409);
    expect(res.body.error.message).to.contain('demo district');
    expect((await api.get('/demo')).body.simulator.running).to.equal(false);
  });

  it('when the simulator ports are 0 and the district is loaded, then the simulator runs on the ports it got and the points name exactly those', async () => {
    expect((await api.post('/demo/load', {})).status).to.equal(201);
    const res = await api.post('/demo/simulator', {});
    expect(res.status).to.equal(201);
    const sim = res.body as SimState;
    expect(sim.running).to.equal(true);
    expect(sim.cameras).to.equal(5400);
    expect(sim.rtspPort).to.be.a('number').greaterThan(0);
    expect(sim.httpPort).to.be.a('number').greaterThan(0);

    const points = (await api.get('/cameras?limit=200')).body.items as DemoPoint[];
    expect(points).to.have.length(200);
    for (const p of points) expect([p.endpoint.rtspPort, p.endpoint.httpPort, p.endpoint.onvifPort]).to.deep.equal([sim.rtspPort, sim.httpPort, sim.httpPort]);
    const ep = points[0].endpoint;
    await new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: ep.host, port: ep.rtspPort }, () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });

    const state = (await api.get('/demo')).body as { simulator: SimState };
    expect(state.simulator).to.deep.equal(sim);
    const again = await api.post('/demo/simulator', {});
    expect(again.status, 'a second start returns the running one').to.equal(201);
    expect(again.body).to.deep.equal(sim);
  });

  it('when a demo point is probed as the polling engine would, then the simulator answers through the point\'s endpoint (rtsp and onvif)', async () => {
    const points = (await api.get('/cameras?limit=200')).body.items as PointConfig[];
    for (const kind of ['rtsp', 'onvif'] as const) {
      const point = points.find((p) => p.probe.kind === kind);
      if (!point) throw new Error(`no ${kind} point among the first 200 demo points`);
      const result = await probes[kind].check(targetOf(point, 2000));
      expect(result.outcome, `${kind} ${JSON.stringify(result)}`).to.equal('ok');
    }
  });

  it('when the demo simulator runs, then it listens only on its cameras\' own 127.x addresses: no wildcard socket, 127.0.0.1 and this host\'s other addresses are refused', async () => {
    const sim = (await api.get('/demo')).body.simulator as SimState;
    const ports = [sim.rtspPort as number, sim.httpPort as number];
    const listening = listenersOn(ports);
    expect(listening.filter((l) => !l.address.startsWith('127.')), 'listeners beyond loopback').to.deep.equal([]);
    // (at least: another process on this machine may hold the same port number on other 127.x addresses)
    expect(listening.length, 'one listener per camera and port').to.be.at.least(2 * sim.cameras);
    for (const port of ports) expect(await dial('127.0.0.1', port), `127.0.0.1:${port} (no camera there)`).to.equal('refused');
    const outside = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (outside) for (const port of ports) expect(await dial(outside.address, port), `${outside.address}:${port}`).to.equal('refused');
    const points = (await api.get('/cameras?limit=1')).body.items as DemoPoint[];
    expect(await dial(points[0].endpoint.host, sim.rtspPort as number)).to.equal('accepted');
  });
});
