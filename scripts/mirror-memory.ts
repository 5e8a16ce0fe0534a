/**
 * What the polling engine keeps per point (issue #12: a million-row import within +512 MB), measured directly:
 * N points through `upsertPoint` as a registry read hands them in (a restored status, fresh strings), then the
 * growth of the V8 heap plus array buffers after full GCs, per point. Three populations: disabled, registered
 * but not connected (未接入), and probed (enabled with a host; not started, so nothing is probed). The ids exist
 * before the measurement (they are the registry's strings), so they are not counted.
 *
 *   npx tsx scripts/mirror-memory.ts [--points 100000]
 */
import { loadConfig } from '../server/src/config';
import { createLogger } from '../server/src/lib/logger';
import { MonitoringService } from '../server/src/monitoring/service';
import { heapUsedAfterGc } from './heap-used';

const arg = process.argv.indexOf('--points');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 100_000;
const used = heapUsedAfterGc;
const config = loadConfig({}, { LOG_LEVEL: 'silent', MONITOR_ENABLED: 'true' });
const kept: MonitoringService[] = [];
for (const mode of ['disabled', 'not connected', 'probed'] as const) {
  const service = new MonitoringService({ config, logger: createLogger('silent'), conn: {} as never });
  const ids = Array.from({ length: N }, (_, i) => (0x6570_0000_0000 + i).toString(16).padStart(24, '0'));
  const state = mode === 'disabled' ? 'DISABLED' : mode === 'not connected' ? 'NOT_CONNECTED' : 'UP';
  const before = used();
  for (let i = 0; i < N; i++) {
    service.upsertPoint(
      {
        id: ids[i],
        regionId: `r${i % 100}`,
        enabled: mode !== 'disabled',
        // strings built at run time, as a store read brings them (one copy per row)
        endpoint: { host: mode === 'not connected' ? null : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, rtspPort: 554, rtspPath: ['/Streaming', 'Channels', String(101)].join('/'), httpPort: 80 },
        probe: { kind: ['rt', 'sp'].join('') as 'rtsp', intervalSec: 60, timeoutMs: 3000, retries: 3 },
      },
      { state, confirmed: state, since: new Date(Date.now() - i), seq: 1, lastCheckAt: null, rttMs: null, flapping: false, reason: null },
    );
  }
  const per = (used() - before) / N;
  process.stdout.write(`${mode}: ${per.toFixed(0)} B a point (heap + array buffers, ${N} points)\n`);
  kept.push(service);
}
