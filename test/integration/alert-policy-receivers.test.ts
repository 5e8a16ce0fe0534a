import { expect } from 'chai';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs } from '../helpers/auth';
import type { ApiClient } from '../helpers/http';

/**
 * A policy's receivers must exist: a policy naming a channel or a user that is not there routes its messages
 * nowhere, and nobody learns of it until an outage goes unannounced. Refused when the policy is written, and a
 * channel a policy still names cannot be deleted from under it.
 */
describe('alert policies: receivers that exist', function () {
  this.timeout(60_000);
  let app: TestApp;
  let admin: ApiClient;
  const missing = '0123456789abcdef01234567';

  before(async () => {
    app = await bootAuthApp();
    admin = await loginAs(app, bootAdmin);
  });

  after(async () => {
    await app?.close();
  });

  const webhook = async (name: string): Promise<string> => {
    const res = await admin.post('/channels', { kind: 'webhook', name, settings: { url: 'http://127.0.0.1:9/hook' }, secrets: { secret: 'whsec-0123456789abcdef' } });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return String(res.body.id);
  };

  it('when a policy names a channel or a user that does not exist, then it is refused naming the receiver and nothing is stored', async () => {
    const res = await admin.post('/alert-policies', { name: '无此渠道', receivers: [{ kind: 'channel', id: missing }] });
    expect(res.status, JSON.stringify(res.body)).to.equal(404);
    expect(res.body.error.details).to.deep.include({ field: 'receivers.0.id', message: 'channel not found' });

    const ch = await webhook('值班 webhook');
    const step = await admin.post('/alert-policies', {
      name: '无此用户',
      receivers: [{ kind: 'channel', id: ch }],
      escalation: { steps: [{ afterSec: 0, receivers: [{ kind: 'org', org: '运维一' }] }, { afterSec: 1800, receivers: [{ kind: 'channel', id: ch }, { kind: 'user', id: missing }] }] },
    });
    expect(step.status, JSON.stringify(step.body)).to.equal(404);
    expect(step.body.error.details).to.deep.include({ field: 'escalation.steps.1.receivers.1.id', message: 'user not found' });

    const list = await admin.get('/alert-policies');
    expect((list.body.items as Array<{ name: string }>).map((p) => p.name)).to.not.include.members(['无此渠道', '无此用户']);
  });

  it('when a policy names existing receivers, then it is stored; an update naming a missing one is refused and changes nothing', async () => {
    const ch = await webhook('组长 webhook');
    const lead = await createUser(app, { role: 'technician', scopeRegionId: null, maintainerOrg: '运维一' });
    const body = { name: '有效接收人', receivers: [{ kind: 'channel', id: ch }], escalation: { steps: [{ afterSec: 1800, receivers: [{ kind: 'user', id: lead.id }] }] } };
    const created = await admin.post('/alert-policies', body);
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const id = String(created.body.id);

    const upd = await admin.request('PUT', `/alert-policies/${id}`, { ...body, receivers: [{ kind: 'channel', id: missing }] }, { headers: { 'If-Match': `"v${String(created.body.version)}"` } });
    expect(upd.status, JSON.stringify(upd.body)).to.equal(404);
    expect(upd.body.error.details).to.deep.include({ field: 'receivers.0.id', message: 'channel not found' });
    const got = await admin.get(`/alert-policies/${id}`);
    expect(got.body.version).to.equal(created.body.version);
    expect(got.body.receivers).to.deep.equal([{ kind: 'channel', id: ch }]);
  });

  it('when a channel is still named by a policy, then deleting it is refused naming the policy; once no policy names it, it is deleted', async () => {
    const ch = await webhook('待删 webhook');
    const created = await admin.post('/alert-policies', { name: '用到待删渠道', escalation: { steps: [{ afterSec: 0, receivers: [{ kind: 'channel', id: ch }] }] } });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);

    const refused = await admin.request('DELETE', `/channels/${ch}`);
    expect(refused.status, JSON.stringify(refused.body)).to.equal(409);
    expect(String(refused.body.error.message)).to.include('用到待删渠道');
    expect((await admin.get(`/channels/${ch}`)).status).to.equal(200);

    expect((await admin.request('DELETE', `/alert-policies/${String(created.body.id)}`)).status).to.equal(204);
    expect((await admin.request('DELETE', `/channels/${ch}`)).status).to.equal(204);
    expect((await admin.get(`/channels/${ch}`)).status).to.equal(404);
  });

  it('when a user is still named by a policy, then deleting him is refused naming the policy; once no policy names him, he is deleted', async () => {
    const duty = await createUser(app, { role: 'technician', scopeRegionId: null, maintainerOrg: '运维二' });
    const created = await admin.post('/alert-policies', { name: '值班长升级', escalation: { steps: [{ afterSec: 0, receivers: [{ kind: 'org', org: '运维二' }] }, { afterSec: 3600, receivers: [{ kind: 'user', id: duty.id }] }] } });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);

    const refused = await admin.request('DELETE', `/users/${duty.id}`);
    expect(refused.status, JSON.stringify(refused.body)).to.equal(409);
    expect(String(refused.body.error.message)).to.include('值班长升级');
    expect((await admin.get(`/users/${duty.id}`)).status).to.equal(200);

    expect((await admin.request('DELETE', `/alert-policies/${String(created.body.id)}`)).status).to.equal(204);
    expect((await admin.request('DELETE', `/users/${duty.id}`)).status).to.equal(204);
    expect((await admin.get(`/users/${duty.id}`)).status).to.equal(404);
  });
});
