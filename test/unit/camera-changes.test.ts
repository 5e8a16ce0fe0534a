import { expect } from 'chai';
import { cameraAsInput, changesPoint, newDoc, registryFieldsOf, toCamera } from '../../server/src/cameras/documents';
import type { Camera } from '../../server/src/contracts/cameras';
import { cameraInputSchema, stripEcho, type CameraInput, type CameraInputRaw } from '../../server/src/cameras/schema';

const defaults = { PROBE_DEFAULT_KIND: 'tcp', PROBE_DEFAULT_INTERVAL_SEC: 60, PROBE_DEFAULT_TIMEOUT_MS: 3000, PROBE_DEFAULT_RETRIES: 3 } as const;
const regionId = '0000000000000000000000a1';

function input(raw: Partial<CameraInputRaw> = {}): CameraInput {
  return stripEcho(cameraInputSchema.parse({ gbCode: '21030200011320000001', name: '站前路口', regionId, endpoint: { host: '10.0.0.1' }, ...raw }));
}

/** The point as the registry stores and reads it after a create from `raw`. */
function stored(raw: Partial<CameraInputRaw> = {}): Camera {
  return toCamera(newDoc(registryFieldsOf(input(raw), defaults), new Date('2026-01-01T00:00:00Z')));
}

describe('cameras: changesPoint, the one "unchanged?" of PATCH, bulk upsert and import', () => {
  it('when a row equals the stored point except for what defaults fill in (probe, ports, empty fields, a date for an instant), then it is unchanged', () => {
    // stored with every default written out; the row leaves them to the defaults
    const point = stored({
      probe: { kind: 'tcp', intervalSec: 60, timeoutMs: 3000, retries: 3 },
      installedAt: '2024-05-01T08:00:00+08:00',
      tags: ['路口'],
    });
    const row = input({ installedAt: '2024-05-01', tags: ['路口'], address: '', maintainer: {} });
    expect(point.probe).to.deep.equal({ kind: 'tcp', intervalSec: 60, timeoutMs: 3000, retries: 3 });
    expect(changesPoint(row, point, defaults)).to.equal(false);
  });

  it('when the stored point is merged back as an input (what a patch or an import row starts from), then it is unchanged', () => {
    const point = stored({ gridId: null, location: { lon: 123.1, lat: 41.1 }, endpoint: { host: '10.0.0.1', httpPort: 80 }, sharing: 'up' });
    expect(changesPoint(stripEcho(cameraInputSchema.parse(cameraAsInput(point))), point, defaults)).to.equal(false);
  });

  it('when one registry field differs, then the row changes the point', () => {
    const point = stored({ tags: ['路口'] });
    expect(changesPoint(input({ tags: ['路口'], name: '站前路口东' }), point, defaults)).to.equal(true);
    expect(changesPoint(input({ tags: ['路口'], endpoint: { host: '10.0.0.2' } }), point, defaults)).to.equal(true);
    expect(changesPoint(input({ tags: ['路口'], installedAt: '2024-05-02' }), point, defaults)).to.equal(true);
    expect(changesPoint(input({ tags: [] }), point, defaults)).to.equal(true);
  });

  it('when the row leaves the probe to the defaults but the stored point has its own, then the row changes the point (back to the defaults)', () => {
    const point = stored({ probe: { intervalSec: 120 } });
    expect(changesPoint(input(), point, defaults)).to.equal(true);
    expect(changesPoint(input({ probe: { intervalSec: 120 } }), point, defaults)).to.equal(false);
  });
});
