import net from 'node:net';
import { expect } from 'chai';
import { bootApp, type TestApp } from '../helpers/app';

interface SimState { running: boolean; cameras: number; rtspPort: number | null; controlUrl: string | null }

describe('demo district simulator (first run)', function () {
  this.timeout(60_000);
  let app: TestApp;
  before(async () => {
    app = await bootApp({ AUTH_MODE: 'open' });
  });
  after(async () => {
    await app.close();
  });

  const post = (path: string): Promise<Response> =>
    fetch(`${app.baseUrl}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

  it('when the demo district is not loaded, then starting the simulator is refused with 409', async () => {
    const res = await post('/demo/simulator');
    expect(res.status).to.equal(409);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).to.contain('demo district');
  });

  it('when the demo district is loaded and the simulator started, then its points accept RTSP connections and /demo reports it', async () => {
    expect((await post('/demo/load')).status).to.equal(201);
    const res = await post('/demo/simulator');
    expect(res.status).to.equal(201);
    const sim = (await res.json()) as SimState;
    expect(sim.running).to.equal(true);
    expect(sim.cameras).to.equal(5400);
    expect(sim.rtspPort).to.equal(8554);

    const list = (await (await fetch(`${app.baseUrl}/api/v1/cameras?limit=1`)).json()) as { items: Array<{ endpoint: { host: string; rtspPort: number } }> };
    const ep = list.items[0].endpoint;
    expect(ep.rtspPort).to.equal(8554);
    await new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: ep.host, port: ep.rtspPort }, () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });

    const state = (await (await fetch(`${app.baseUrl}/api/v1/demo`)).json()) as { simulator: SimState };
    expect(state.simulator.running).to.equal(true);
    expect((await post('/demo/simulator')).status, 'a second start returns the running one').to.equal(201);
  });
});
