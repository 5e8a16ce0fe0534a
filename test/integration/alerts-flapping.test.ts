import { expect } from 'chai';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import type { IncidentView } from '../../server/src/contracts/incidents';
import { monitoringOf } from '../../server/src/monitoring';
import { simAddress, startSimulator, type RunningSimulator } from '../../server/src/demo/sim/simulator';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { loginAs } from '../helpers/auth';
import type { ApiClient } from '../helpers/http';
import { captureServer, type CaptureServer } from '../helpers/receivers';
import { waitFor } from '../fixtures/polling';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

/**
 * Done-when "flapping", end to end: a simulated camera whose every connection alternates down / up, polled
 * for real (one failure confirms DOWN, so each check is a change of state), 21 changes in a few seconds
 * (the "10 minutes", faster); the incident service, the dispatcher and a webhook receiver as they run.
 */
describe('alerts: a flapping camera, polled for real', function () {
  this.timeout(120_000);
  let app: TestApp;
  let sim: RunningSimulator;
  let admin: ApiClient;
  let hook: CaptureServer;
  const addr = simAddress(54_000);
  let id = '';

  before(async () => {
    sim = await startSimulator({ cameras: [{ addr }] });
    app = await bootAuthApp({
      MONITOR_ENABLED: 'true',
      MONITOR_INTERVAL_OVERRIDE_MS: '200',
      MONITOR_RETRY_INTERVAL_MS: '100',
      MONITOR_FLUSH_MS: '200',
      ALERTS_TICK_MS: '50',
      ALERTS_DISPATCH_ENABLED: 'true',
      ALERTS_DISPATCH_TICK_MS: '100',
    });
    admin = await loginAs(app, bootAdmin);
    const { regions, cameras } = app.registry;
    const district = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    const input = stripEcho(
      cameraInputSchema.parse({
        gbCode: '21030200001320000001',
        name: '接触不良的球机',
        regionId: district,
        endpoint: { host: addr, rtspPort: sim.rtspPort },
        probe: { kind: 'tcp', timeoutMs: 300, retries: 1 },
        sharing: 'all',
        maintainer: { org: '某安防公司', contact: '', phone: '' },
      }),
    );
    id = (await cameras.create(fixture, input)).id;
    hook = await captureServer({ reply: () => ({ status: 200, body: { ok: true } }) });
    const ch = await admin.post('/channels', { kind: 'webhook', name: '运维群', settings: { url: `${hook.url}/hook` }, secrets: { secret: 'flapping-webhook-secret-012345' } });
    expect(ch.status, JSON.stringify(ch.body)).to.equal(201);
    const policy = await admin.post('/alert-policies', { name: '全区', groupWaitSec: 2, groupIntervalSec: 1, receivers: [{ kind: 'channel', id: ch.body.id as string }] });
    expect(policy.status, JSON.stringify(policy.body)).to.equal(201);
    await waitFor('the camera UP', () => monitoringOf(app.ctx).status(id)?.state === 'UP', 20_000);
  });
  after(async () => {
    await app?.close();
    await sim?.stop();
    await hook?.close();
  });

  it('when a point changes state 21 times, then its incident holds one member "flapping" and at most 2 messages go out over the whole episode', async () => {
    const cam = sim.cameras.get(addr);
    if (!cam) throw new Error('no simulated camera');
    const c0 = cam.connections;
    sim.setCameraFault(addr, { mode: 'flapping', pattern: 'DU', stepMs: 0 });
    // 22 checks answered alternately: 21 changes of state
    await waitFor('21 changes of state', () => cam.connections - c0 >= 22, 30_000);
    await waitFor('the FLAPPING mark', () => monitoringOf(app.ctx).status(id)?.flapping === true, 10_000);
    const open = await waitFor('one open incident', async () => {
      const items = (await admin.get('/incidents?state=open')).body.items as IncidentView[];
      return items.length === 1 ? items : null;
    }, 10_000);
    expect(open[0].members.map((m) => m.state), 'one member, flapping').to.deep.equal(['flapping']);

    sim.setCameraFault(addr, { mode: 'up' });
    await waitFor('the mark cleared and the incident resolved', async () => {
      const items = (await admin.get('/incidents?state=open')).body.items as IncidentView[];
      return items.length === 0 && monitoringOf(app.ctx).status(id)?.flapping === false;
    }, 40_000);
    await new Promise((r) => setTimeout(r, 2000));
    const all = (await admin.get('/incidents')).body.items as IncidentView[];
    const messages = hook.requests.map((r) => r.json as { incidentId: string; messages: Array<{ state: string; title: string }> });
    // at most 2, and a firing message is always followed by its resolution: exactly these two
    expect(messages.map((m) => m.messages[0]?.state), `messages: ${JSON.stringify(messages.map((m) => m.messages[0]?.title))}`).to.deep.equal(['firing', 'resolved']);
    expect(new Set(messages.map((m) => m.incidentId)).size, 'both about one incident').to.equal(1);
    expect(messages[0].messages[0].title).to.include('频繁抖动');
    expect(all.filter((i) => i.announced), 'one incident spoke').to.have.length(1);
  });
});
