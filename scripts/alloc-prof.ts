/**
 * Bench-only preload (`node --require tsx/cjs --require scripts/alloc-prof.ts`, set by `bench:import --alloc-prof
 * DIR`): samples the process's allocations from its start, those collected since included, and writes them as a
 * `.heapprofile` into `VIGIL_ALLOC_PROF` (a directory) when it exits — where the garbage of a run comes from, which a
 * heap snapshot (taken after a full GC) cannot show. Open it in Chrome's DevTools (Memory tab) or read it with
 * `scripts/heap-profile-top.ts`.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const dir = process.env.VIGIL_ALLOC_PROF;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 64 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  process.on('exit', () => {
    // the in-thread session answers synchronously
    session.post('HeapProfiler.getSamplingProfile', (err, res) => {
      if (err) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `alloc-${process.pid}.heapprofile`), JSON.stringify(res.profile));
    });
  });
}
