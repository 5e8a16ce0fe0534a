import { expect } from 'chai';
import { centerCodeMismatch, decodeGbCode, deviceTypes, formatGbCode, parseGbCode } from '../../server/src/cameras/gbcode';
import { cameraInputSchema, isHostOrIp, validateCameraInput, type RegionLookup } from '../../server/src/cameras/schema';

describe('GB/T 28181 codes', () => {
  it('when the domain example is parsed, then center, industry, type, network and serial are decoded', () => {
    const info = decodeGbCode('21030200001320000001');
    expect(info).to.deep.include({ center: '21030200', industry: '00', type: '132', typeName: 'IP camera', network: '0', serial: '000001' });
    expect(info.industryName).to.equal('public-security road');
    expect(info.networkName).to.equal('video private network');
  });

  it('when the type table is consulted, then the standard codes are known with their names', () => {
    expect(deviceTypes['111'].name).to.equal('DVR');
    expect(deviceTypes['118'].name).to.equal('NVR');
    expect(deviceTypes['131'].name).to.equal('camera');
    expect(deviceTypes['200'].name).to.equal('central SIP server');
    expect(deviceTypes['215'].name).to.equal('business group');
    expect(deviceTypes['216'].name).to.equal('virtual organisation');
  });

  it('when a code is not 20 digits or has an unknown type, then the reason says so', () => {
    for (const bad of ['2103020000132000000', '210302000013200000011', '2103020000132000000a', '２１030200001320000001', '']) {
      const r = parseGbCode(bad);
      expect(r.ok, bad).to.equal(false);
      if (!r.ok) expect(r.message).to.match(/20 digits/);
    }
    const r = parseGbCode('21030200009990000001');
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.message).to.match(/unknown device type code 999/);
  });

  it('when network digits and reserved industries are decoded, then each has its meaning', () => {
    expect(decodeGbCode('21030200001325000001').networkName).to.equal('public-security information network');
    expect(decodeGbCode('21030200001327000001').networkName).to.equal('Internet');
    expect(decodeGbCode('21030200081320000001').industryName).to.equal('city management');
    expect(decodeGbCode('21030200201320000001').industryName).to.match(/reserved \(government\)/);
  });

  it('when a center code is compared with a division code, then province/city/district digits must match', () => {
    expect(centerCodeMismatch('21030200001320000001', '210302')).to.equal(null);
    expect(centerCodeMismatch('21030300001320000001', '210302')).to.match(/210302/);
    expect(centerCodeMismatch('21030201001320000001', '210302001')).to.equal(null); // 9-digit street: district part binds
    expect(centerCodeMismatch('21030201001320000001', '21030200')).to.match(/21030200/); // 8-digit basic unit binds fully
    expect(centerCodeMismatch('21030200001320000001', '21')).to.equal(null);
    expect(centerCodeMismatch('21030200001320000001', null)).to.equal(null);
  });

  it('when a code is formatted from parts, then it round-trips through the parser', () => {
    const code = formatGbCode({ center: '21030201', industry: '01', type: '118', network: '0', serial: 42 });
    expect(code).to.equal('21030201011180000042');
    expect(parseGbCode(code).ok).to.equal(true);
  });
});

describe('camera point validation', () => {
  const regions: Record<string, { id: string; tier: 'district' | 'street' | 'community' | 'grid'; code: string | null; name: string; parent: string | null }> = {
    aaaaaaaaaaaaaaaaaaaaaaaa: { id: 'aaaaaaaaaaaaaaaaaaaaaaaa', tier: 'district', code: '210302', name: '铁东区', parent: null },
    bbbbbbbbbbbbbbbbbbbbbbbb: { id: 'bbbbbbbbbbbbbbbbbbbbbbbb', tier: 'community', code: null, name: '胜利社区', parent: 'aaaaaaaaaaaaaaaaaaaaaaaa' },
    cccccccccccccccccccccccc: { id: 'cccccccccccccccccccccccc', tier: 'grid', code: null, name: '第1网格', parent: 'bbbbbbbbbbbbbbbbbbbbbbbb' },
    dddddddddddddddddddddddd: { id: 'dddddddddddddddddddddddd', tier: 'grid', code: null, name: '别处网格', parent: null },
  };
  const lookup: RegionLookup = {
    get: (id) => regions[id],
    ancestorsOrSelf: (id) => {
      const out: string[] = [];
      for (let r = regions[id]; r; r = r.parent ? regions[r.parent] : (undefined as never)) out.push(r.id);
      return out;
    },
  };
  const base = { gbCode: '21030200001320000001', name: '胜利路口', regionId: 'bbbbbbbbbbbbbbbbbbbbbbbb', endpoint: { host: '10.1.2.3' } };

  it('when a minimal point is parsed, then defaults apply (rtspPort 554, sharing own, enabled, no tags)', () => {
    const p = cameraInputSchema.parse(base);
    expect(p.endpoint.rtspPort).to.equal(554);
    expect(p.sharing).to.equal('own');
    expect(p.enabled).to.equal(true);
    expect(p.tags).to.deep.equal([]);
    expect(validateCameraInput(p, lookup)).to.deep.equal([]);
  });

  it('when fields are out of range, then every issue names its field', () => {
    const r = cameraInputSchema.safeParse({
      ...base,
      gbCode: '123',
      location: { lon: 181, lat: -91 },
      endpoint: { host: 'bad host!', rtspPort: 70000, httpPort: 0 },
      sharing: 'everyone',
    });
    expect(r.success).to.equal(false);
    const fields = r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    expect(fields).to.include.members(['gbCode', 'location.lon', 'location.lat', 'endpoint.host', 'endpoint.rtspPort', 'endpoint.httpPort', 'sharing']);
  });

  it('when the center code does not match the inherited district code, then gbCode is rejected naming the region', () => {
    const issues = validateCameraInput(cameraInputSchema.parse({ ...base, gbCode: '21030300001320000001' }), lookup);
    expect(issues).to.have.length(1);
    expect(issues[0].field).to.equal('gbCode');
    expect(issues[0].message).to.match(/210302/).and.match(/铁东区/);
  });

  it('when the region is unknown, a grid, or the grid lies elsewhere, then regionId/gridId are rejected', () => {
    expect(validateCameraInput(cameraInputSchema.parse({ ...base, regionId: 'eeeeeeeeeeeeeeeeeeeeeeee' }), lookup)[0].field).to.equal('regionId');
    expect(validateCameraInput(cameraInputSchema.parse({ ...base, regionId: 'cccccccccccccccccccccccc' }), lookup)[0].field).to.equal('regionId');
    expect(validateCameraInput(cameraInputSchema.parse({ ...base, gridId: 'cccccccccccccccccccccccc' }), lookup)).to.deep.equal([]);
    const elsewhere = validateCameraInput(cameraInputSchema.parse({ ...base, gridId: 'dddddddddddddddddddddddd' }), lookup);
    expect(elsewhere[0]).to.deep.include({ field: 'gridId' });
  });

  it('when hosts are checked, then IPs and hostnames pass and junk fails', () => {
    for (const ok of ['127.20.0.1', '::1', 'cam-01.tiedong.local', 'nvr1']) expect(isHostOrIp(ok), ok).to.equal(true);
    for (const bad of ['bad host', '-x.example', 'a..b', 'http://x', '']) expect(isHostOrIp(bad), bad).to.equal(false);
  });
});
