import { expect } from 'chai';
import { loadConfig } from '../../server/src/config';
import { createLogger } from '../../server/src/lib/logger';
import { MonitoringService } from '../../server/src/monitoring/service';

describe('rollup spill pass (monitoring service)', () => {
  it('when a pass starts over 250 points with 100 per slice, then each flush tick moves one slice and the third ends the pass', () => {
    const config = loadConfig({}, { NODE_ENV: 'test', MONITOR_ENABLED: 'true', MONITOR_FLUSH_MAX_OPS: '100' });
    // no store traffic in this test: only the in-memory buffer is looked at
    const m = new MonitoringService({ config, logger: createLogger('silent'), conn: {} as never });
    const since = new Date(Date.now() - 30_000);
    for (let i = 0; i < 250; i++) {
      m.upsertPoint(
        { id: `p${i}`, regionId: 'r', enabled: true, endpoint: { host: '127.0.0.1', rtspPort: 554 }, probe: { kind: 'tcp', intervalSec: 60, timeoutMs: 1000, retries: 3 } },
        { state: 'UP', confirmed: 'UP', since, lastCheckAt: null, rttMs: null, flapping: false, reason: null, seq: 1 },
      );
    }
    m.startSpillPass();
    m.spillSlice();
    expect(m.store.bufferedRollups).to.equal(100);
    expect(m.spilling).to.equal(true);
    m.spillSlice();
    m.spillSlice();
    expect(m.store.bufferedRollups).to.equal(250);
    expect(m.spilling).to.equal(false);
    // a second pass adds to the same point-hours (one upsert each), it does not add rows
    m.startSpillPass();
    for (let i = 0; i < 3; i++) m.spillSlice();
    expect(m.store.bufferedRollups).to.equal(250);
  });
});
