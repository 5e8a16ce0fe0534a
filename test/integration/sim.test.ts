import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { probes } from '../../server/src/probes';
import { camerasFromExport, demoDistrictCameras, syntheticCameras } from '../../server/src/demo/sim/mapping';
import { simAddress, startSimulator, type RunningSimulator } from '../../server/src/demo/sim/simulator';
import { anonymous, type ApiResponse } from '../helpers/http';
import { runTs } from '../helpers/process';

describe('camera simulator control API and mapping', function () {
  this.timeout(30_000);
  let sim: RunningSimulator;
  const cams = syntheticCameras(200, 4).map((c, i) => ({ ...c, addr: simAddress(50_000 + i) }));
  /** The simulator's control API (absolute URLs: it is not under /api/v1). */
  const call = (method: string, p: string, body?: unknown): Promise<ApiResponse> => anonymous({ baseUrl: sim.controlUrl }).request(method, `${sim.controlUrl}${p}`, body);
  const tcp = (a: string) => probes.rtsp.check({ host: a, port: sim.rtspPort, timeoutMs: 300 });

  before(async () => {
    sim = await startSimulator({ cameras: cams });
  });
  after(() => sim.stop());

  it('when a camera fault is PUT, then GET shows it and the camera behaves so', async () => {
    const a = cams[0].addr;
    expect((await call('PUT', `/cameras/${a}/fault`, { mode: 'http500' })).status).to.equal(200);
    const got = await call('GET', `/cameras/${a}/fault`);
    expect(got.body.fault.mode).to.equal('http500');
    expect((await tcp(a)).outcome).to.equal('protocol_error');
    await call('PUT', `/cameras/${a}/fault`, { mode: 'up' });
    expect((await tcp(a)).outcome).to.equal('ok');
  });

  it('when a fault is invalid or the camera unknown, then 400 / 404 with a message', async () => {
    const bad = await call('PUT', `/cameras/${cams[0].addr}/fault`, { mode: 'exploded' });
    expect(bad.status).to.equal(400);
    expect(bad.body.error).to.match(/mode/);
    expect((await call('GET', '/cameras/127.99.99.99/fault')).status).to.equal(404);
  });

  it('when a region has a mass outage, then all its cameras are down and the others are not', async () => {
    expect((await call('PUT', '/regions/r1/fault', { mode: 'down' })).status).to.equal(200);
    const inRegion = cams.filter((c) => c.regionId === 'r1').slice(0, 10);
    const outside = cams.filter((c) => c.regionId === 'r2').slice(0, 10);
    for (const c of inRegion) expect((await tcp(c.addr)).outcome).to.equal('reset');
    for (const c of outside) expect((await tcp(c.addr)).outcome).to.equal('ok');
    await call('PUT', '/regions/r1/fault', { mode: 'up' });
    expect((await tcp(inRegion[0].addr)).outcome).to.equal('ok');
  });

  it('when a fraction is selected with a seed, then the same cameras are picked each time', async () => {
    const a = await call('POST', '/faults', { select: { fraction: 0.1, seed: 3 }, fault: { mode: 'blackhole' } });
    const b = await call('POST', '/faults', { select: { fraction: 0.1, seed: 3 }, fault: { mode: 'up' } });
    expect(a.body.addresses).to.deep.equal(b.body.addresses);
    expect(a.body.affected).to.be.within(10, 35);
  });

  it('when a scenario is posted, then its steps apply at their times', async () => {
    const a = cams[5].addr;
    const r = await call('POST', '/scenario', { steps: [{ atMs: 0, select: { camera: a }, fault: { mode: 'down' } }, { atMs: 150, select: { camera: a }, fault: { mode: 'up' } }] });
    expect(r.status).to.equal(202);
    await new Promise((res) => setTimeout(res, 20));
    expect((await tcp(a)).outcome).to.equal('reset');
    await new Promise((res) => setTimeout(res, 200));
    expect((await tcp(a)).outcome).to.equal('ok');
  });

  it('when a flapping pattern is time-based, then the camera follows it', async () => {
    const a = cams[6].addr;
    sim.setCameraFault(a, { mode: 'flapping', pattern: 'D', stepMs: 1000 });
    expect((await tcp(a)).outcome).to.equal('reset');
    sim.setCameraFault(a, { mode: 'flapping', pattern: 'U', stepMs: 1000 });
    expect((await tcp(a)).outcome).to.equal('ok');
  });

  it('when a registry export has non-loopback hosts, then they get simulator addresses and the map says so', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-sim-'));
    const csv = path.join(dir, 'export.csv');
    fs.writeFileSync(csv, '\uFEFFgbCode,name,endpoint.host,regionId\n21030200001320000001,a,10.1.2.3,r1\n21030200001320000002,b,127.16.9.9,r2\n21030200001320000003,c,127.16.9.9,r2\n');
    const r = camerasFromExport(csv);
    expect(r.cameras.map((c) => c.addr)).to.deep.equal(['127.16.1.1', '127.16.9.9', '127.16.1.2']);
    expect(r.remapped.map((m) => m.id)).to.deep.equal(['21030200001320000001', '21030200001320000003']);
    const json = path.join(dir, 'export.json');
    fs.writeFileSync(json, JSON.stringify({ items: [{ id: 'x', regionId: 'r9', endpoint: { host: '127.20.0.1' } }] }));
    expect(camerasFromExport(json).cameras).to.deep.equal([{ addr: '127.20.0.1', id: 'x', regionId: 'r9' }]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when the demo district is mapped, then 5,400 cameras exist and a street outage takes its communities down', async () => {
    const demo = demoDistrictCameras();
    expect(demo).to.have.length(5400);
    expect(new Set(demo.map((c) => c.addr)).size).to.equal(5400);
    const inCommunity = demo.find((c) => (c.ancestorRegionIds ?? []).length >= 2);
    expect(inCommunity, 'a point in a community').to.not.equal(undefined);
    const street = (inCommunity?.ancestorRegionIds ?? [])[0];
    const dsim = await startSimulator({ cameras: demo });
    try {
      dsim.setRegionFault(street, { mode: 'down' });
      const r = await probes.tcp.check({ host: inCommunity?.addr ?? '', port: dsim.rtspPort, timeoutMs: 300 });
      expect(r.outcome).to.equal('reset');
      const elsewhere = demo.find((c) => c.regionId !== street && !(c.ancestorRegionIds ?? []).includes(street));
      expect((await probes.tcp.check({ host: elsewhere?.addr ?? '', port: dsim.rtspPort, timeoutMs: 300 })).outcome).to.equal('ok');
    } finally {
      await dsim.stop();
    }
  });

  it('when `npm run sim` starts, then it prints its ports and serves the control API', async () => {
    const p = runTs('scripts/sim/main.ts', ['--count', '5', '--rtsp-port', '0', '--http-port', '0', '--control-port', '0'], {});
    try {
      const m = await p.waitFor(/"control":"(http:\/\/[^"]+)"/, 20_000);
      const health = (await (await fetch(`${m[1]}/health`)).json()) as { cameras: number };
      expect(health.cameras).to.equal(5);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
});
