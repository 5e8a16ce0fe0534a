import { expect } from 'chai';
import { ObjectId, type Db } from 'mongodb';
import { monitoringOf, type Transition } from '../../server/src/monitoring';
import { simAddress, startSimulator, type RunningSimulator } from '../../server/src/demo/sim/simulator';
import { bootApp, type TestApp } from '../helpers/app';
import { anonymous } from '../helpers/http';
import { devPrincipal } from '../../server/src/contracts/access';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import { registryOf } from '../../server/src/registry';
import { assertChain, cameraDoc, DISTRICT, seedDistrict, fastPollingEnv, waitFor, type ChainItem, type PointSpec } from '../fixtures/polling';

const INTERVAL_MS = 250;

describe('polling engine against the simulator (real sockets, real store)', function () {
  this.timeout(60_000);
  let sim: RunningSimulator;
  let app: TestApp;
  let db: Db;
  const feed: Transition[] = [];
  const addr = (i: number): string => simAddress(20_000 + i);
  const ids = new Map<string, string>();

  const add = async (name: string, i: number, spec: Partial<PointSpec> & { kind: PointSpec['kind'] }): Promise<string> => {
    const id = new ObjectId().toHexString();
    await db.collection('cameras').insertOne(cameraDoc({ id, host: addr(i), rtspPort: sim.rtspPort, httpPort: sim.httpPort, ...spec }));
    ids.set(name, id);
    return id;
  };
  const stateOf = (name: string): string | undefined => monitoringOf(app.ctx).status(ids.get(name) as string)?.state;

  before(async () => {
    sim = await startSimulator({ cameras: Array.from({ length: 80 }, (_, i) => ({ addr: addr(i) })) });
    app = await bootApp(fastPollingEnv(INTERVAL_MS, { MONITOR_CONCURRENCY: '16' }));
    db = app.ctx.store.conn.db as unknown as Db;
    await seedDistrict(db);
    monitoringOf(app.ctx).feed.subscribe((t) => feed.push(t));
    sim.setCameraFault(addr(2), { mode: 'down' });
    sim.setCameraFault(addr(3), { mode: 'blackhole' });
    sim.setCameraFault(addr(4), { mode: 'http401' });
    sim.setCameraFault(addr(5), { mode: 'garbage' });
    sim.setCameraFault(addr(6), { mode: 'http500' });
    await add('tcp-up', 0, { kind: 'tcp' });
    await add('rtsp-up', 1, { kind: 'rtsp' });
    await add('tcp-down', 2, { kind: 'tcp' });
    await add('rtsp-blackhole', 3, { kind: 'rtsp' });
    await add('http-401', 4, { kind: 'http' });
    await add('onvif-garbage', 5, { kind: 'onvif' });
    await add('http-500', 6, { kind: 'http' });
    await add('onvif-up', 7, { kind: 'onvif' });
    await add('disabled', 8, { kind: 'tcp', enabled: false });
    await monitoringOf(app.ctx).resync();
  });
  after(async () => {
    await app?.close();
    await sim?.stop();
  });

  it('when points face each fault mode, then each settles in the right state', async () => {
    const expected: Record<string, string> = {
      'tcp-up': 'UP',
      'rtsp-up': 'UP',
      'tcp-down': 'DOWN',
      'rtsp-blackhole': 'DOWN',
      'http-401': 'UP',
      'onvif-garbage': 'DOWN',
      'http-500': 'DOWN',
      'onvif-up': 'UP',
      disabled: 'DISABLED',
    };
    await waitFor('states', () => Object.entries(expected).every(([n, s]) => stateOf(n) === s), 10_000);
    for (const [n, s] of Object.entries(expected)) expect(stateOf(n), n).to.equal(s);
    expect(monitoringOf(app.ctx).status(ids.get('rtsp-blackhole') as string)?.reason).to.match(/^timeout/);
    expect(monitoringOf(app.ctx).status(ids.get('http-401') as string)?.reason).to.match(/^auth_required/);
  });

  it('when states are reached, then the status is on the point in the store and one transition each', async () => {
    await monitoringOf(app.ctx).flush();
    const down = await db.collection('cameras').findOne({ _id: new ObjectId(ids.get('tcp-down')) });
    expect(down?.status?.state).to.equal('DOWN');
    expect(down?.status?.since).to.be.instanceOf(Date);
    const ts = await db.collection('transitions').find({ cameraId: new ObjectId(ids.get('tcp-down')) }).toArray();
    expect(ts.map((t) => `${t.from}>${t.to}`)).to.deep.equal(['UNKNOWN>DOWN']);
    expect(ts[0]._id).to.equal(`${ids.get('tcp-down')}:1`);
    const up = await db.collection('transitions').find({ cameraId: new ObjectId(ids.get('tcp-up')) }).toArray();
    expect(up.map((t) => `${t.from}>${t.to}`)).to.deep.equal(['UNKNOWN>UP']);
  });

  it('when a camera goes down and comes back, then DOWN is confirmed after retries and UP returns, with no PENDING event', async () => {
    const id = ids.get('tcp-up') as string;
    const before = feed.filter((t) => t.cameraId === id).length;
    sim.setCameraFault(addr(0), { mode: 'down' });
    const t0 = Date.now();
    await waitFor('DOWN', () => stateOf('tcp-up') === 'DOWN', 5000, 10);
    const took = Date.now() - t0;
    // first failure within one interval, then 2 retries 100 ms apart (+ scheduling slack)
    expect(took).to.be.below(INTERVAL_MS + 2 * 100 + 300);
    sim.setCameraFault(addr(0), { mode: 'up' });
    await waitFor('UP', () => stateOf('tcp-up') === 'UP', 5000, 10);
    const mine = feed.filter((t) => t.cameraId === id).slice(before);
    expect(mine.map((t) => `${t.from}>${t.to}`)).to.deep.equal(['UP>DOWN', 'DOWN>UP']);
    expect(mine[0].failingSince).to.be.instanceOf(Date);
  });

  it('when GET /cameras/:id/status, then the engine state is returned; an unknown id is 404', async () => {
    const r = await anonymous(app).get(`/cameras/${ids.get('tcp-down')}/status`);
    expect(r.status).to.equal(200);
    expect(r.body.state).to.equal('DOWN');
    expect(r.body.consecutiveFailures).to.be.at.least(3);
    expect((await anonymous(app).get(`/cameras/${new ObjectId().toHexString()}/status`)).status).to.equal(404);
    expect((await anonymous(app).get('/cameras/not-an-id/status')).status).to.equal(400);
  });

  it('when POST /cameras/:id/check, then the probe runs now and its result comes back', async () => {
    const r = await anonymous(app).post(`/cameras/${ids.get('rtsp-up')}/check`);
    expect(r.status).to.equal(200);
    expect(r.body.kind).to.equal('rtsp');
    expect(r.body.result.outcome).to.equal('ok');
    expect(r.body.result.status).to.equal(200);
    expect(r.body.status.state).to.equal('UP');
    const bad = await anonymous(app).post(`/cameras/${ids.get('http-500')}/check`);
    expect(bad.body.result.outcome).to.equal('protocol_error');
    expect(bad.body.result.detail).to.match(/500/);
  });

  it('when POST /cameras/:id/check on a disabled point (kept without a probe target), then it is probed out of band and stays DISABLED', async () => {
    const r = await anonymous(app).post(`/cameras/${ids.get('disabled')}/check`);
    expect(r.status).to.equal(200);
    expect(r.body.kind).to.equal('tcp');
    expect(r.body.result.outcome).to.equal('ok');
    expect(r.body.status.state).to.equal('DISABLED');
    expect(r.body.transition).to.equal(null);
  });

  it('when GET /cameras/:id/history, then transitions and uptime for the period come back', async () => {
    await monitoringOf(app.ctx).flush({ rollups: true });
    const r = await anonymous(app).get(`/cameras/${ids.get('tcp-up')}/history?period=24h`);
    expect(r.status).to.equal(200);
    expect((r.body.transitions as ChainItem[]).map((t) => t.to)).to.deep.equal(['UP', 'DOWN', 'UP']);
    expect(r.body.uptime.checks).to.be.greaterThan(3);
    expect(r.body.uptime.failures).to.be.at.least(3);
    // time counts in whole seconds (an event at t takes effect at ⌊t⌋ s): DOWN lasted from the DOWN record to the UP one
    const [upAgain, down] = r.body.transitions as Array<ChainItem & { at: string }>;
    const sec = (iso: string): number => Math.floor(Date.parse(iso) / 1000);
    expect(r.body.uptime.downSec).to.equal(sec(upAgain.at) - sec(down.at));
    expect(r.body.uptime.upSec).to.be.greaterThan(0);
    const { upSec, downSec } = r.body.uptime as { upSec: number; downSec: number };
    expect(r.body.uptime.percent).to.equal(Math.round((upSec / (upSec + downSec)) * 1e6) / 1e4);
    // one day document (two around midnight) and one month document per point, keyed "day:point" / "month:point"
    const days = await db.collection('history_days').find({ _id: { $regex: `:${ids.get('tcp-up')}$` } as never }).toArray();
    expect(days.length).to.be.within(1, 2);
    expect(String(days[0]._id)).to.match(/^\d{8}:/);
    // the answer also counts the checks made since the flush (still in memory)
    expect(days.reduce((n, d) => n + Number(d.k ?? 0), 0))
      .to.be.greaterThan(3)
      .and.at.most(r.body.uptime.checks as number);
    expect((await anonymous(app).get(`/cameras/${ids.get('tcp-up')}/history?period=1y`)).status).to.equal(400);
  });

  it('when a camera flaps, then one flapping episode is announced, not a stream of DOWN/UP', async () => {
    const id = await add('flapper', 20, { kind: 'tcp', retries: 1 });
    sim.setCameraFault(addr(20), { mode: 'flapping', pattern: 'UD', stepMs: 0 });
    await monitoringOf(app.ctx).resync();
    // 24 checks of an alternating camera
    await waitFor('24 checks', () => (sim.cameras.get(addr(20))?.connections ?? 0) >= 24, 15_000);
    const mine = feed.filter((t) => t.cameraId === id);
    const episodes = mine.filter((t) => t.flapping && t.from !== undefined);
    const start = mine.findIndex((t) => t.flapping);
    expect(start, JSON.stringify(mine.map((t) => `${t.from}>${t.to}${t.flapping ? '~' : ''}`))).to.be.within(0, 4);
    expect(episodes).to.have.length(1);
    expect(mine.slice(start + 1)).to.have.length(0);
    expect(monitoringOf(app.ctx).status(id)?.flapping).to.equal(true);
    await monitoringOf(app.ctx).flush();
    const stored = await db.collection('cameras').findOne({ _id: new ObjectId(id) });
    expect(stored?.status?.flapping).to.equal(true);
  });

  it('when 10% of points are blackholed with a long timeout, then the other points are still checked on time', async () => {
    const names: string[] = [];
    for (let i = 0; i < 40; i++) {
      const slow = i % 10 === 0;
      if (slow) sim.setCameraFault(addr(40 + i), { mode: 'blackhole' });
      names.push(await add(`crowd-${i}`, 40 + i, { kind: 'rtsp', timeoutMs: slow ? 2000 : 300 }));
    }
    await monitoringOf(app.ctx).resync();
    const before = Array.from({ length: 40 }, (_, i) => sim.cameras.get(addr(40 + i))?.connections ?? 0);
    await new Promise((r) => setTimeout(r, 2500));
    const counts = Array.from({ length: 40 }, (_, i) => (sim.cameras.get(addr(40 + i))?.connections ?? 0) - before[i]);
    const healthy = counts.filter((_, i) => i % 10 !== 0);
    // 2.5 s at a 250 ms interval = 10 checks; allow scheduling slack but no starvation
    expect(Math.min(...healthy), JSON.stringify(counts)).to.be.at.least(8);
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(metrics).to.match(/vigil_schedule_lag_seconds_bucket/);
    expect(metrics).to.match(/vigil_probes_total\{kind="rtsp",outcome="timeout"\} [1-9]/);
  });

  it('when a point is created, disabled and deleted through the registry, then the engine follows without a resync', async () => {
    const registry = registryOf(app.ctx);
    await registry.regions.reload();
    const raw = cameraDoc({ host: addr(30), kind: 'tcp', rtspPort: sim.rtspPort, httpPort: sim.httpPort });
    const input = stripEcho(
      cameraInputSchema.parse({
        gbCode: raw.gbCode,
        name: raw.name,
        regionId: DISTRICT,
        endpoint: { host: addr(30), rtspPort: sim.rtspPort },
        probe: { kind: 'tcp', intervalSec: 60, timeoutMs: 300, retries: 3 },
      }),
    );
    const cam = await registry.cameras.create(devPrincipal, input);
    await waitFor('UP via onChange', () => monitoringOf(app.ctx).status(cam.id)?.state === 'UP', 5000);
    await registry.cameras.update(devPrincipal, cam.id, { enabled: false });
    expect(monitoringOf(app.ctx).status(cam.id)?.state).to.equal('DISABLED');
    // a check already running when the point was disabled may still land
    await new Promise((r) => setTimeout(r, 400));
    const seen = sim.cameras.get(addr(30))?.connections ?? 0;
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS));
    expect(sim.cameras.get(addr(30))?.connections, 'a disabled point is not probed').to.equal(seen);
    await registry.cameras.remove(devPrincipal, cam.id);
    expect(monitoringOf(app.ctx).hasPoint(cam.id)).to.equal(false);
    expect(feed.filter((t) => t.cameraId === cam.id).map((t) => `${t.from}>${t.to}`)).to.deep.equal(['UNKNOWN>UP', 'UP>DISABLED']);
  });

  it('when /metrics is scraped, then probes, latency, lag, in-flight, states and buffer are there', async () => {
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    for (const name of ['vigil_probes_total', 'vigil_probe_duration_seconds_bucket', 'vigil_schedule_lag_current_seconds', 'vigil_probes_in_flight', 'vigil_points{state="UP"}', 'vigil_transitions_buffered', 'vigil_process_cpu_seconds_total', 'vigil_nodejs_eventloop_lag_p99_seconds']) {
      expect(text, name).to.include(name);
    }
    expect(text).to.match(/vigil_points\{state="DISABLED"\} 1/);
    const doc = (await (await fetch(`${app.baseUrl}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { 'x-permission': string }>> };
    expect(doc.paths['/cameras/{id}/status'].get['x-permission']).to.equal('status:read');
    expect(doc.paths['/cameras/{id}/history'].get['x-permission']).to.equal('status:read');
    expect(doc.paths['/cameras/{id}/check'].post['x-permission']).to.equal('status:check');
  });

  it('when every transition of the run is read back, then each point has one unbroken chain', async () => {
    await monitoringOf(app.ctx).flush();
    for (const id of ids.values()) {
      if (!monitoringOf(app.ctx).hasPoint(id)) continue;
      const ts = await db.collection('transitions').find({ cameraId: new ObjectId(id) }).toArray();
      expect(assertChain(ts), id).to.equal(null);
      expect(ts.length).to.equal(feed.filter((t) => t.cameraId === id).length);
    }
  });
});
