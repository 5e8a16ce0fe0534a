import { expect } from 'chai';
import { fullGc } from '../../scripts/heap-used';
import { createMonitoringMetrics, type MonitoringGauges } from '../../server/src/monitoring/metrics';

/** Gauges that read a stand-in engine (the service's gauges close over the service the same way). */
function gaugesOf(engine: { points: number[] }): MonitoringGauges {
  return {
    inFlight: () => engine.points.length,
    lagMs: () => 0,
    pointsByState: () => ({}),
    flapping: () => 0,
    bufferedTransitions: () => 0,
    bufferedStatus: () => 0,
  };
}

describe('monitoring metrics (one set per monitoring service)', () => {
  it('when a service and its metrics are dropped, then nothing in the process keeps them alive', async () => {
    let engineRef: WeakRef<object> | undefined;
    (() => {
      const engine = { points: new Array<number>(1000).fill(1) };
      engineRef = new WeakRef(engine);
      createMonitoringMetrics(gaugesOf(engine));
    })();
    // a WeakRef's target stays alive until the current job ends: collect after a turn of the loop
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      fullGc();
    }
    expect(engineRef?.deref(), 'the dropped engine is still reachable (held by its metrics)').to.equal(undefined);
  });

  it('when two services run in one process, then each scrape has the process metrics and its own', async () => {
    const a = createMonitoringMetrics(gaugesOf({ points: [1, 2] }));
    const b = createMonitoringMetrics(gaugesOf({ points: [1, 2, 3] }));
    for (const [m, inFlight] of [[a, 2], [b, 3]] as const) {
      const text = await m.registry.metrics();
      expect(text).to.match(/^vigil_process_cpu_user_seconds_total \d/m);
      expect(text).to.match(/^vigil_nodejs_eventloop_lag_p99_seconds \d/m);
      expect(text).to.match(/^vigil_probes_total\{kind="tcp",outcome="ok"\} 0$/m);
      expect(text).to.match(new RegExp(`^vigil_probes_in_flight ${inFlight}$`, 'm'));
    }
  });
});
