import { expect } from 'chai';
import type { Principal } from '../../server/src/contracts/access';
import type { CameraChange } from '../../server/src/cameras/events';
import { cameraInputSchema, stripEcho, type CameraInput } from '../../server/src/cameras/schema';
import { bootApp, type TestApp } from '../helpers/app';

const admin: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };
const actor = { userId: 'u1', username: 'importer' };

describe('camera service: bulk upsert and change events', function () {
  this.timeout(60_000);
  let app: TestApp;
  let district: string;
  let s1: string;
  let s2: string;
  const events: CameraChange[] = [];
  const row = (n: number, regionId: string, over: Record<string, unknown> = {}): CameraInput =>
    stripEcho(cameraInputSchema.parse({ gbCode: `21030200001320${String(n).padStart(6, '0')}`, name: `点${n}`, regionId, endpoint: { host: `127.50.0.${n}` }, ...over }));

  before(async () => {
    app = await bootApp({ AUTH_MODE: 'open', MONITOR_ENABLED: 'false' });
    const { regions, cameras } = app.registry;
    district = (await regions.create(admin, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    s1 = (await regions.create(admin, { name: 'S1', tier: 'street', parentId: district, code: null, households: null, boundary: null, note: '' })).id;
    s2 = (await regions.create(admin, { name: 'S2', tier: 'street', parentId: district, code: null, households: null, boundary: null, note: '' })).id;
    cameras.onChange((e) => events.push(e));
  });
  after(async () => {
    await app?.close();
  });

  it('when rows are new, then they are created with version 1, one event and one audit entry each', async () => {
    events.length = 0;
    const res = await app.registry.cameras.upsertManyValidated([row(1, s1), row(2, s1), row(3, s2)], actor, { source: 'import:test' });
    expect(res).to.deep.include({ created: 3, updated: 0, unchanged: 0, conflicts: [], refused: [] });
    expect(res.outcomes.map((o) => o.outcome)).to.deep.equal(['created', 'created', 'created']);
    expect(events.map((e) => [e.kind, e.regionId])).to.deep.equal([['upsert', s1], ['upsert', s1], ['upsert', s2]]);
    expect(events[0].camera?.version).to.equal(1);
    const audit = await app.registry.audit.list(admin, { entity: 'camera', entityId: res.outcomes[0].id, limit: 10 });
    expect(audit.items).to.have.length(1);
    expect(audit.items[0]).to.deep.include({ action: 'create', meta: { source: 'import:test' } });
    expect(audit.items[0].actor).to.deep.equal(actor);
  });

  it('when the same rows are upserted again, then nothing is written: unchanged, no version bump, no event', async () => {
    events.length = 0;
    const res = await app.registry.cameras.upsertManyValidated([row(1, s1), row(2, s1), row(3, s2)], actor);
    expect(res).to.deep.include({ created: 0, updated: 0, unchanged: 3 });
    expect(events).to.deep.equal([]);
    const [c] = await app.registry.cameras.findByGbCodes([row(1, s1).gbCode]);
    expect(c.version).to.equal(1);
  });

  it('when one row changed, then only it is updated (version 2) with before/after in the audit', async () => {
    events.length = 0;
    const res = await app.registry.cameras.upsertManyValidated([row(1, s1, { name: '新名字' }), row(2, s1)], actor);
    expect(res).to.deep.include({ created: 0, updated: 1, unchanged: 1 });
    expect(events).to.have.length(1);
    const [c] = await app.registry.cameras.findByGbCodes([row(1, s1).gbCode]);
    expect(c).to.deep.include({ name: '新名字', version: 2 });
    const audit = await app.registry.audit.list(admin, { entity: 'camera', entityId: c.id, limit: 10 });
    expect(audit.items[0]).to.deep.include({ action: 'update' });
    expect((audit.items[0].before as { name: string }).name).to.equal('点1');
  });

  it('when only the region of a row changed, then it counts as updated (ids are compared by value)', async () => {
    const res = await app.registry.cameras.upsertManyValidated([row(2, s2)], actor, { dryRun: true });
    expect(res).to.deep.include({ updated: 1, unchanged: 0 });
  });

  it('when dryRun is set, then outcomes are reported and nothing is written', async () => {
    const res = await app.registry.cameras.upsertManyValidated([row(1, s1, { name: '又改' }), row(9, s1)], actor, { dryRun: true });
    expect(res).to.deep.include({ created: 1, updated: 1, unchanged: 0 });
    expect(await app.registry.cameras.findByGbCodes([row(9, s1).gbCode])).to.deep.equal([]);
    expect((await app.registry.cameras.findByGbCodes([row(1, s1).gbCode]))[0].name).to.equal('新名字');
  });

  it('when an existing point lies outside the importing principal\'s write scope, then its row is refused', async () => {
    const streetOp: Principal = { kind: 'user', userId: 'op', username: 'op', role: 'operator', scopeRegionId: s1 };
    const res = await app.registry.cameras.upsertManyValidated([row(3, s1, { name: '抢过来' }), row(2, s1, { name: '可以改' })], actor, { principal: streetOp });
    expect(res.refused.map((r) => r.gbCode)).to.deep.equal([row(3, s1).gbCode]);
    expect(res.updated).to.equal(1);
    expect((await app.registry.cameras.findByGbCodes([row(3, s1).gbCode]))[0].name).to.equal('点3');
  });

  it('when points are created, patched and deleted over the service, then upsert/delete events carry id and region', async () => {
    events.length = 0;
    const { cameras } = app.registry;
    const c = await cameras.create(admin, row(20, s2));
    await cameras.update(admin, c.id, { regionId: s1 });
    await cameras.remove(admin, c.id);
    expect(events.map((e) => [e.kind, e.id, e.regionId])).to.deep.equal([
      ['upsert', c.id, s2],
      ['upsert', c.id, s1],
      ['delete', c.id, s1],
    ]);
  });

  it('when a region changes, then region listeners hear about it', async () => {
    const seen: string[] = [];
    const off = app.registry.regions.onChange((e) => seen.push(`${e.kind}:${e.id}`));
    const r = await app.registry.regions.create(admin, { name: 'S3', tier: 'street', parentId: district, code: null, households: null, boundary: null, note: '' });
    await app.registry.regions.remove(admin, r.id, { cascade: false });
    off();
    expect(seen).to.deep.equal([`upsert:${r.id}`, `delete:${r.id}`]);
  });
});
