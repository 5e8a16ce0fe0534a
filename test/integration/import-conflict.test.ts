import { expect } from 'chai';
import { devPrincipal } from '../../server/src/contracts/access';
import { TransferService } from '../../server/src/cameras/transfer/service';
import { bootApp, type TestApp } from '../helpers/app';
import { anonymous } from '../helpers/http';
import { csvText, demo, demoColumns, demoRows, gbk, loadDemoRegions, upload } from '../fixtures/transfer';

/**
 * The import reads the stored points once, when it plans; its writes are conditional on the versions it
 * read then. A point someone else changes (or creates) between the plan and the apply is reported on
 * its line and keeps the other writer's values.
 */
describe('POST /cameras/import: points changed by someone else while an import runs', function () {
  this.timeout(60_000);
  let app: TestApp;
  const d = demo();
  const points = d.points.filter((p) => p.upstreamGbCode === null).slice(0, 3);
  const nameCol = demoColumns.indexOf('名称');

  before(async () => {
    app = await bootApp({ AUTH_MODE: 'open' });
    await loadDemoRegions(app);
  });
  after(async () => app?.close());

  it('when a point is edited and another created between plan and apply, then both rows are reported and neither edit is overwritten', async () => {
    const first = await upload(app, gbk(csvText(demoColumns, demoRows(d, points.slice(0, 2)))), { query: 'mode=all-or-nothing' });
    expect(first.body.totals).to.include({ created: 2 });
    const rows = demoRows(d, points);
    for (const r of rows) r[nameCol] = `${r[nameCol]}（导入）`;
    const [edited] = await app.registry.cameras.findByGbCodes([points[0].gbCode]);
    const { cameras, regions, audit } = app.registry;
    const transfer = new TransferService(app.ctx.store.conn, { cameras, regions, audit, probeDefaults: app.ctx.config, logger: app.ctx.logger });
    await transfer.init();

    const report = await transfer.import(devPrincipal, gbk(csvText(demoColumns, rows)), { mode: 'all-or-nothing' }, {
      afterCommit: async () => {
        const patched = await anonymous(app).patch(`/cameras/${edited.id}`, { name: '值班员改的名字' });
        expect(patched.status).to.equal(200);
        const created = await upload(app, gbk(csvText(demoColumns, demoRows(d, [points[2]]))), { query: 'mode=all-or-nothing' });
        expect(created.body.totals).to.include({ created: 1 });
      },
    });

    expect(report.totals).to.include({ created: 0, updated: 1 });
    expect(report.errors.map((e) => [e.line, e.field]).sort((a, b) => Number(a[0]) - Number(b[0]))).to.deep.equal([
      [2, 'gbCode'],
      [4, 'gbCode'],
    ]);
    for (const e of report.errors) expect(e.reason).to.match(/changed by someone else/);
    const after = new Map((await cameras.findByGbCodes(points.map((p) => p.gbCode))).map((c) => [c.gbCode, c]));
    expect(after.get(points[0].gbCode)?.name).to.equal('值班员改的名字');
    expect(after.get(points[1].gbCode)?.name).to.equal(`${points[1].name}（导入）`);
    expect(after.get(points[2].gbCode)?.name).to.equal(points[2].name);
  });
});
