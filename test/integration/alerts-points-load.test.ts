import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { AlertPoints } from '../../server/src/alerts/incidents/points';
import { bootApp, type TestApp } from '../helpers/app';

/**
 * Alerting reads every point once at start-up. A registry whose points' alerting fields add up to more than
 * 16 MB must still load: a cursor batch over 16 MB is refused (the embedded store answered a getMore with
 * the whole rest of the collection, 17.3 MB at 100,000 points, and `npm start` failed in alerting).
 */
describe('alerts: loading the points of a large registry', function () {
  this.timeout(180_000);
  let app: TestApp;

  before(async () => {
    app = await bootApp({ AUTH_MODE: 'open', MONITOR_ENABLED: 'false' });
  });
  after(async () => {
    await app?.close();
  });

  it('when the points add up to more than 16 MB, then every one of them is loaded', async () => {
    const db = app.ctx.store.conn.db;
    if (!db) throw new Error('store not connected');
    const regionId = new ObjectId();
    const long = '长'.repeat(330); // ~1 KB of UTF-8 per name
    const total = 18_000;
    for (let base = 0; base < total; base += 3000) {
      await db.collection('cameras').insertMany(
        Array.from({ length: 3000 }, (_, i) => ({ gbCode: `21030200001320${String(base + i).padStart(6, '0')}`, name: `${long}${base + i}`, regionId, gridId: null, upstreamId: null, maintainer: { org: '某安防公司' }, sharing: 'all', tags: [] })),
      );
    }
    const points = new AlertPoints();
    await points.load(app.ctx.store.conn);
    expect([...points.ids()]).to.have.length(total);
  });
});
