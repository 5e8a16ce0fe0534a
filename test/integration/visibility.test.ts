import { expect } from 'chai';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import type { Principal } from '../../server/src/contracts/access';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Ack, StatusBatch, SubscribeResult } from '../../server/src/contracts/live';
import type { Sharing } from '../../server/src/contracts/vocabulary';
import { liveOf } from '../../server/src/live';
import { bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, tokenFor } from '../helpers/auth';
import { bearerClient, type ApiClient } from '../helpers/http';

const admin: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

/**
 * The one visibility rule, path by path (acceptance of the read-model issue). Fixture: district D → street
 * S1 → communities C1, C2; street S2. Community C1 holds points of three maintainer organisations (OrgA,
 * OrgB, OrgC) with every sharing value; C2 holds an `own` NVR; S2 an `own` point. A technician of OrgA
 * scoped to C1 must see exactly OrgA's points there, whatever the path.
 */
describe('one visibility rule on every path a point leaves the server', function () {
  this.timeout(60_000);
  let app: TestApp;
  const r: Record<string, string> = {};
  const p: Record<string, string> = {};
  const code: Record<string, string> = {};
  let serial = 0;
  let tech: ApiClient;
  let streetOp: ApiClient;
  let communityOp: ApiClient;
  const sockets: ClientSocket[] = [];

  async function point(key: string, at: string, sharing: Sharing, org: string, extra: Record<string, unknown> = {}): Promise<void> {
    serial += 1;
    const gbCode = `21030200001320${String(serial).padStart(6, '0')}`;
    const input = stripEcho(
      cameraInputSchema.parse({
        gbCode,
        name: `${key}-名称`,
        regionId: r[at],
        address: `${key}-地址`,
        endpoint: { host: `127.41.0.${serial}` },
        sharing,
        maintainer: { org, contact: '张工', phone: `1390000${String(serial).padStart(4, '0')}` },
        ...extra,
      }),
    );
    const cam = await app.registry.cameras.create(admin, input);
    p[key] = cam.id;
    code[key] = gbCode;
  }

  async function client(role: 'technician' | 'operator', scope: string, maintainerOrg?: string): Promise<ApiClient> {
    const u = await createUser(app, { role, scopeRegionId: scope, ...(maintainerOrg ? { maintainerOrg } : {}) });
    return bearerClient(app, await tokenFor(app, u));
  }

  before(async () => {
    app = await bootAuthApp({ MONITOR_ENABLED: 'false', LIVE_BATCH_MS: '250' });
    const { regions } = app.registry;
    r.D = (await regions.create(admin, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    for (const [k, parent, tier] of [['S1', 'D', 'street'], ['S2', 'D', 'street'], ['C1', 'S1', 'community'], ['C2', 'S1', 'community']] as const) {
      r[k] = (await regions.create(admin, { name: `${k}名`, tier, parentId: r[parent], code: null, households: null, boundary: null, note: '' })).id;
    }
    await point('nvrC2', 'C2', 'own', 'OrgA');
    for (const org of ['OrgA', 'OrgB', 'OrgC']) {
      for (const sharing of ['own', 'up', 'all'] as Sharing[]) await point(`${org}-${sharing}`, 'C1', sharing, org, org === 'OrgA' && sharing === 'own' ? { upstreamId: p.nvrC2 } : {});
    }
    await point('s2own', 'S2', 'own', 'OrgA');
    // an edit of every point, so the audit trail holds before/after views of each
    for (const [key, id] of Object.entries(p)) await app.registry.cameras.update(admin, id, { note: `edited ${key}` });
    tech = await client('technician', r.C1, 'OrgA');
    streetOp = await client('operator', r.S1);
    communityOp = await client('operator', r.C1);
    await liveOf(app.ctx).reload();
  });
  after(async () => {
    for (const s of sockets) s.close();
    await app?.close();
  });

  const orgA = (): string[] => ['OrgA-own', 'OrgA-up', 'OrgA-all'].map((k) => p[k]).sort();
  const others = (): string[] => ['OrgB-own', 'OrgB-up', 'OrgB-all', 'OrgC-own', 'OrgC-up', 'OrgC-all'].map((k) => p[k]);

  it("when the technician lists, reads and counts points, then exactly his organisation's points in his community come back", async () => {
    const list = await tech.get(`/cameras?regionId=${r.C1}&limit=100`);
    expect(list.status).to.equal(200);
    expect((list.body.items as Array<{ id: string }>).map((c) => c.id).sort()).to.deep.equal(orgA());
    expect(list.body.total).to.equal(3);
    for (const id of orgA()) expect((await tech.get(`/cameras/${id}`)).status).to.equal(200);
    for (const id of others()) expect((await tech.get(`/cameras/${id}`)).status, id).to.equal(404);
    const counts = await tech.get(`/regions/counts?regionId=${r.C1}`);
    expect(counts.body.total).to.equal(3);
    const tree = await tech.get(`/regions/tree?rootId=${r.C1}`);
    expect(tree.status).to.equal(200);
    expect(tree.body.roots[0].points.total).to.equal(3);
  });

  it("when the technician reads status and history, then other organisations' points are not found", async () => {
    for (const id of others()) {
      expect((await tech.get(`/cameras/${id}/status`)).status).to.equal(404);
      expect((await tech.get(`/cameras/${id}/history`)).status).to.equal(404);
    }
    expect((await tech.get(`/cameras/${p['OrgA-up']}/history`)).status).to.not.equal(404);
  });

  it('when the technician loads the live catalog, then it holds his organisation\'s points only', async () => {
    const res = await tech.get(`/live/points?regionId=${r.C1}`);
    expect(res.status).to.equal(200);
    expect([...(res.body.ids as string[])].sort()).to.deep.equal(orgA());
    expect(res.body.dict.maintainers).to.deep.equal(['OrgA']);
  });

  it('when the technician subscribes on /live, then the snapshot and every batch carry his organisation\'s points only', async () => {
    const socket = connect(`${app.baseUrl}/live`, { transports: ['websocket'], reconnection: false, forceNew: true, ...tech.socketOptions() });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const batches: StatusBatch[] = [];
    socket.on('status:changed', (b: StatusBatch) => batches.push(b));
    const ack = (await socket.timeout(5000).emitWithAck('subscribe', { regionId: r.C1 })) as Ack<SubscribeResult>;
    if (!ack.ok) throw new Error(JSON.stringify(ack.error));
    const snap = ack.data;
    if (snap.kind !== 'snapshot') throw new Error('expected a snapshot');
    expect([...snap.points.ids].sort()).to.deep.equal(orgA());
    expect(snap.counts.total.reduce((a, b) => a + b, 0)).to.equal(3);

    const live = liveOf(app.ctx);
    const at = Date.now();
    for (const id of [...others(), ...orgA()]) live.applyTransition({ cameraId: id, to: 'DOWN', at });
    const deadline = Date.now() + 5000;
    while (batches.reduce((n, b) => n + b.changes.ids.length, 0) < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    const seen = batches.flatMap((b) => b.changes.ids);
    expect([...new Set(seen)].sort()).to.deep.equal(orgA());
    for (const b of batches) expect(b.counts.total.reduce((a, n) => a + n, 0)).to.equal(3);
  });

  it("when a street operator reads the audit trail, then entries about a community's own points are not listed", async () => {
    const res = await streetOp.get('/audit?entity=camera&limit=500');
    expect(res.status).to.equal(200);
    const ids = new Set((res.body.items as Array<{ entityId: string }>).map((e) => e.entityId));
    // own points of C1 and C2 are not his to see; up and all are
    for (const k of ['OrgA-own', 'OrgB-own', 'OrgC-own', 'nvrC2', 's2own']) expect(ids.has(p[k]), k).to.equal(false);
    for (const k of ['OrgA-up', 'OrgB-all']) expect(ids.has(p[k]), k).to.equal(true);
    const direct = await streetOp.get(`/audit?entityId=${p['OrgB-own']}`);
    expect(direct.body.items).to.have.length(0);
    expect(JSON.stringify(res.body)).not.to.include('OrgB-own-地址');
  });

  it('when a point moves out of a caller\'s sight, then its audit entry shows the side he could see and not the other', async () => {
    await point('mover', 'C1', 'up', 'OrgA');
    await app.registry.cameras.update(admin, p.mover, { regionId: r.S2, address: '新地址-隐藏' });
    const res = await streetOp.get(`/audit?entityId=${p.mover}`);
    const update = (res.body.items as Array<{ action: string; before: unknown; after: unknown; meta: Record<string, unknown> }>).find((e) => e.action === 'update');
    expect(update, 'the update entry is listed (he saw the point before)').to.not.equal(undefined);
    expect(update?.before).to.not.equal(null);
    expect(update?.after).to.equal(null);
    expect(update?.meta.redacted).to.equal(true);
    expect(JSON.stringify(res.body)).not.to.include('新地址-隐藏');
  });

  it('when a caller imports rows naming points he cannot see, then they are reported not found, never written, and a dry run tells nothing', async () => {
    // C1's operator cannot see C2's own NVR (a sibling community); S2's own point neither
    const csv = (note: string): string =>
      ['gbCode,name,regionId,host,maintainer,sharing,note', `${code.nvrC2},改名,${r.C1},127.41.9.9,OrgA,own,${note}`, `${code.s2own},改名,${r.C1},127.41.9.8,OrgA,own,${note}`].join('\n');
    const before = await app.registry.cameras.getUnscoped(p.nvrC2);
    for (const mode of ['dry-run', 'valid-only', 'all-or-nothing']) {
      const form = new FormData();
      form.append('file', new Blob([csv(`mode ${mode}`)]), 'rows.csv');
      const res = await communityOp.request('POST', `/cameras/import?mode=${mode}`, form);
      const body = mode === 'all-or-nothing' ? res.body.error.details : res.body;
      expect(res.status, mode).to.equal(mode === 'all-or-nothing' ? 422 : 200);
      expect(body.totals, mode).to.deep.include({ invalid: 2, created: 0, updated: 0, unchanged: 0 });
      for (const e of body.errors as Array<{ reason: string }>) expect(e.reason).to.match(/no such point in your scope/);
      // no region names, no stored values of the hidden points
      expect(JSON.stringify(body), mode).not.to.match(/C2名|S2名|nvrC2-名称|127\.41\.0\./);
    }
    const after = await app.registry.cameras.getUnscoped(p.nvrC2);
    expect(after?.version).to.equal(before?.version);
    expect(after?.name).to.equal('nvrC2-名称');
  });

  it('when a caller imports a row into a region outside his scope, then the error does not name that region', async () => {
    const csv = ['gbCode,name,regionCode,host', `21030200001320999999,新点,210302,127.41.9.7`].join('\n');
    const form = new FormData();
    form.append('file', new Blob([csv]), 'rows.csv');
    const res = await communityOp.request('POST', '/cameras/import?mode=dry-run', form);
    expect(res.status).to.equal(200);
    expect(res.body.totals.invalid).to.equal(1);
    expect(JSON.stringify(res.body.errors)).to.include('outside your scope');
    expect(JSON.stringify(res.body.errors)).not.to.include('铁东区');
  });

  it('when a caller exports points whose upstream device he cannot see, then the upstream code is left blank', async () => {
    const res = await communityOp.request('GET', `/cameras/export?format=csv&lang=en&regionId=${r.C1}`);
    expect(res.status).to.equal(200);
    const text = String(res.body);
    expect(text).to.include(code['OrgA-own']);
    expect(text).not.to.include(code.nvrC2);
    // the global admin sees the NVR, and its code is exported as the upstream
    const global = bearerClient(app, await tokenFor(app, await createUser(app, { role: 'admin', scopeRegionId: null })));
    expect(String((await global.request('GET', `/cameras/export?format=csv&lang=en&regionId=${r.C1}`)).body)).to.include(code.nvrC2);
  });
});
