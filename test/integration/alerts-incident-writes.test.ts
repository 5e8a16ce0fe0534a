import { expect } from 'chai';
import type { AnyBulkWriteOperation, Document } from 'mongodb';
import { alertsOf } from '../../server/src/alerts';
import { incidentModel } from '../../server/src/alerts/incidents/model';
import { cameraInputSchema, stripEcho } from '../../server/src/cameras/schema';
import type { Principal } from '../../server/src/contracts/access';
import { bootApp, type TestApp } from '../helpers/app';
import { anonymous } from '../helpers/http';

const fixture: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'fixture', role: 'admin', scopeRegionId: null };

/**
 * An incident is written whole once, then as the elements that changed (members, refs, timeline entries set by
 * index): whatever the sequence, the stored document must hold exactly the engine's incident — members joining,
 * ending and re-joining, an acknowledgement, and a timeline trimmed at 500 entries (written whole again).
 */
describe('alerts: incident writes send what changed and the store holds the incident', function () {
  this.timeout(120_000);
  let app: TestApp;

  before(async () => {
    app = await bootApp({ AUTH_MODE: 'open', MONITOR_ENABLED: 'false', ALERTS_TICK_MS: '10000' });
  });
  after(async () => {
    await app?.close();
  });

  it('when members join, end, come back and the timeline is trimmed, then after every flush the stored incident equals the engine’s', async () => {
    const { regions, cameras } = app.registry;
    const district = (await regions.create(fixture, { name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null, note: '' })).id;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const input = cameraInputSchema.parse({
        gbCode: `2103020000132000000${i + 1}`,
        name: `点位${i + 1}`,
        regionId: district,
        endpoint: { host: `127.34.0.${i + 1}`, rtspPort: 554 },
        sharing: 'all',
        maintainer: { org: '某安防公司', contact: '', phone: '' },
      });
      ids.push((await cameras.create(fixture, stripEcho(input))).id);
    }
    const policy = await anonymous(app).post('/alert-policies', { name: '写入测试', match: { regionIds: [district] }, groupBy: 'grid', groupWaitSec: 0 });
    expect(policy.status, JSON.stringify(policy.body)).to.equal(201);

    const incidents = alertsOf(app.ctx).incidents;
    const collection = incidentModel(app.ctx.store.conn).collection;
    const kinds: string[] = [];
    const original = collection.bulkWrite.bind(collection) as (ops: ReadonlyArray<AnyBulkWriteOperation<Document>>, o?: unknown) => Promise<unknown>;
    Object.assign(collection, {
      bulkWrite: (ops: ReadonlyArray<AnyBulkWriteOperation<Document>>, o?: unknown) => {
        kinds.push(...ops.map((op) => Object.keys(op)[0]));
        return original(ops, o);
      },
    });
    let t = Date.now();
    const emit = async (i: number, to: 'DOWN' | 'UP'): Promise<void> => {
      incidents.onTransition({ cameraId: ids[i], to, at: new Date((t += 1000)), flapping: false });
      await incidents.tick(t);
    };
    const check = async (): Promise<void> => {
      const [live] = incidents.engine.openIncidents();
      const doc = await collection.findOne({ state: 'open' });
      expect(doc, 'stored').to.not.equal(null);
      expect(doc?._id.toHexString()).to.equal(live.id);
      expect({ members: doc?.members as unknown, timeline: doc?.timeline as unknown, revision: doc?.revision as unknown, ackedBy: doc?.ackedBy as unknown }).to.deep.equal({
        members: live.members,
        timeline: live.timeline,
        revision: live.revision,
        ackedBy: live.ackedBy,
      });
      expect((doc?.refs as Array<{ p: string }>).map((r) => r.p)).to.deep.equal(live.members.map((m) => m.pointId));
    };

    await emit(0, 'DOWN');
    await emit(1, 'DOWN');
    await check();
    await emit(2, 'DOWN');
    await emit(0, 'UP');
    await check();
    await emit(0, 'DOWN');
    incidents.engine.acknowledge(incidents.engine.openIncidents()[0].id, 'fixture', (t += 1000));
    await incidents.flush();
    await check();
    expect(kinds.filter((k) => k === 'updateOne').length, `writes: ${kinds.join(' ')}`).to.be.at.least(4);
    // point 3 comes and goes while point 1 stays DOWN: the timeline passes 500 entries and is trimmed
    for (let i = 0; i < 260; i++) {
      incidents.onTransition({ cameraId: ids[3], to: 'DOWN', at: new Date((t += 1000)), flapping: false });
      incidents.onTransition({ cameraId: ids[3], to: 'UP', at: new Date((t += 1000)), flapping: false });
      if (i % 10 === 9) await incidents.tick(t);
    }
    await incidents.tick((t += 1000));
    const [live] = incidents.engine.openIncidents();
    expect(live.timeline).to.have.length(500);
    await check();
    await emit(3, 'DOWN');
    await check();
  });
});
