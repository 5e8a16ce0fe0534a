import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ObjectId, type Db } from 'mongodb';
import { startEmbeddedMongo } from '../../server/src/embedded-mongo';
import { simAddress, startSimulator, type RunningSimulator } from '../../server/src/demo/sim/simulator';
import { runTs, type StartedProcess } from '../helpers/process';
import { anonymous, type Json } from '../helpers/http';
import { assertChain, cameraDoc, seedDistrict, waitFor, type ChainItem } from '../fixtures/polling';

describe('kill -9 mid-cycle and restart', function () {
  this.timeout(90_000);
  let sim: RunningSimulator;
  let dataDir: string;
  let child: StartedProcess | undefined;
  const addr = (i: number): string => simAddress(40_000 + i);
  const ids: string[] = [];

  const env = (): Record<string, string> => ({
    DATA_DIR: dataDir,
    PORT: '0',
    AUTH_MODE: 'open',
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    MONITOR_ENABLED: 'true',
    MONITOR_INTERVAL_OVERRIDE_MS: '300',
    MONITOR_RETRY_INTERVAL_MS: '100',
    MONITOR_FLUSH_MS: '100',
  });
  const boot = async (): Promise<string> => {
    child = runTs('server/src/main.ts', [], env());
    const m = await child.waitFor(/Console: (http:\/\/\S+?)\/?\s/, 30_000);
    return m[1].replace(/\/$/, '');
  };
  const status = async (baseUrl: string, id: string): Promise<Json> => {
    const r = await anonymous({ baseUrl }).get(`/cameras/${id}/status`);
    return r.status === 200 ? r.body : null;
  };

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-restart-'));
    sim = await startSimulator({ cameras: Array.from({ length: 20 }, (_, i) => ({ addr: addr(i) })) });
    const store = await startEmbeddedMongo({ dbPath: path.join(dataDir, 'db'), port: 0 });
    const { MongoClient } = await import('mongodb');
    const client = await MongoClient.connect(store.uri('vigil'));
    const db: Db = client.db('vigil');
    await seedDistrict(db);
    for (let i = 0; i < 20; i++) {
      const id = new ObjectId().toHexString();
      ids.push(id);
      await db.collection('cameras').insertOne(cameraDoc({ id, host: addr(i), kind: i % 2 ? 'rtsp' : 'tcp', rtspPort: sim.rtspPort, httpPort: sim.httpPort }));
    }
    await client.close();
    await store.close();
    for (let i = 0; i < 5; i++) sim.setCameraFault(addr(i), { mode: 'down' });
  });
  after(async () => {
    child?.child.kill('SIGKILL');
    await sim?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when the server is killed with SIGKILL while checks are failing and restarted, then states are restored and no transition is duplicated', async () => {
    let base = await boot();
    await waitFor('settled', async () => {
      const s = await Promise.all(ids.map((id) => status(base, id)));
      return s.every((x, i) => x?.state === (i < 5 ? 'DOWN' : 'UP'));
    }, 20_000, 100);
    const before = await Promise.all(ids.map((id) => status(base, id)));

    // mid-cycle: five healthy cameras start failing, and we kill while they are PENDING/DOWN
    for (let i = 5; i < 10; i++) sim.setCameraFault(addr(i), { mode: 'down' });
    await waitFor('some failing', async () => {
      const s = await Promise.all(ids.slice(5, 10).map((id) => status(base, id)));
      return s.some((x) => x?.state === 'PENDING' || x?.state === 'DOWN');
    }, 5000, 20);
    child?.child.kill('SIGKILL');
    const exit = await child?.exited;
    expect(exit?.signal).to.equal('SIGKILL');

    base = await boot();
    const after = await Promise.all(ids.map((id) => status(base, id)));
    // restored, not re-derived: healthy points are UP with their old `since`, none is UNKNOWN
    for (let i = 10; i < 20; i++) {
      expect(after[i]?.state, `point ${i}`).to.equal('UP');
      expect(after[i]?.since, `point ${i}`).to.equal(before[i].since);
    }
    for (let i = 0; i < 5; i++) expect(after[i]?.state, `point ${i}`).to.equal('DOWN');
    for (const s of after) expect(s?.state).to.not.equal('UNKNOWN');

    await waitFor('the failing five are DOWN', async () => {
      const s = await Promise.all(ids.slice(5, 10).map((id) => status(base, id)));
      return s.every((x) => x?.state === 'DOWN');
    }, 10_000, 100);
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 20; i++) {
      const h = (await (await fetch(`${base}/api/v1/cameras/${ids[i]}/history?period=24h`)).json()) as { transitions: ChainItem[] };
      const chainError = assertChain(h.transitions);
      expect(chainError, `point ${i}: ${JSON.stringify(h.transitions)}`).to.equal(null);
      const arrows = h.transitions.map((t) => `${t.from}>${t.to}`).reverse();
      if (i < 5) expect(arrows, `point ${i}`).to.deep.equal(['UNKNOWN>DOWN']);
      else if (i < 10) expect(arrows, `point ${i}`).to.deep.equal(['UNKNOWN>UP', 'UP>DOWN']);
      else expect(arrows, `point ${i}`).to.deep.equal(['UNKNOWN>UP']);
    }
    child?.child.kill('SIGTERM');
    await child?.exited;
    child = undefined;
  });
});
