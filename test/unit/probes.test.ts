import net from 'node:net';
import { expect } from 'chai';
import { probes, type ProbeKind, type ProbeOutcome, type ProbeTarget } from '../../server/src/probes';
import { connKind, rawAvailable, useConnKind } from '../../server/src/probes/conn';
import { scanRtspHead } from '../../server/src/probes/rtsp';
import type { FaultInput } from '../../server/src/demo/sim/faults';
import { simAddress, startSimulator, type RunningSimulator } from '../../server/src/demo/sim/simulator';

for (const layer of ['raw', 'net'] as const)
describe(`probes against the camera simulator (real loopback sockets, ${layer} socket layer)`, function () {
  this.timeout(15_000);
  let sim: RunningSimulator;
  const addr = (i: number): string => simAddress(5000 + i);

  before(async () => {
    expect(useConnKind(layer)).to.equal(layer);
    sim = await startSimulator({
      cameras: [
        ...Array.from({ length: 40 }, (_, i) => ({ addr: addr(i) })),
        { addr: addr(40), credentials: { username: 'admin', password: 'secret-pass' } },
      ],
    });
  });
  after(async () => {
    useConnKind('raw');
    await sim.stop();
  });

  const target = (kind: ProbeKind, i: number, extra: Partial<ProbeTarget> = {}): ProbeTarget => ({
    host: addr(i),
    port: kind === 'tcp' || kind === 'rtsp' ? sim.rtspPort : sim.httpPort,
    timeoutMs: 400,
    ...(kind === 'rtsp' ? { describe: true, path: '/Streaming/Channels/101' } : {}),
    ...extra,
  });

  /** Expected outcome per fault mode and probe kind. tcp only tells connect-and-close apart. */
  const table: Array<[FaultInput, Record<ProbeKind, ProbeOutcome>]> = [
    [{ mode: 'up' }, { tcp: 'ok', rtsp: 'ok', onvif: 'ok', http: 'ok' }],
    [{ mode: 'down' }, { tcp: 'reset', rtsp: 'reset', onvif: 'reset', http: 'reset' }],
    [{ mode: 'reset' }, { tcp: 'reset', rtsp: 'reset', onvif: 'reset', http: 'reset' }],
    [{ mode: 'blackhole' }, { tcp: 'ok', rtsp: 'timeout', onvif: 'timeout', http: 'timeout' }],
    [{ mode: 'slow', latencyMs: 1000 }, { tcp: 'ok', rtsp: 'timeout', onvif: 'timeout', http: 'timeout' }],
    [{ mode: 'slow', latencyMs: 50 }, { tcp: 'ok', rtsp: 'ok', onvif: 'ok', http: 'ok' }],
    [{ mode: 'garbage' }, { tcp: 'ok', rtsp: 'protocol_error', onvif: 'protocol_error', http: 'protocol_error' }],
    [{ mode: 'http401' }, { tcp: 'ok', rtsp: 'auth_required', onvif: 'auth_required', http: 'auth_required' }],
    [{ mode: 'http500' }, { tcp: 'ok', rtsp: 'protocol_error', onvif: 'protocol_error', http: 'protocol_error' }],
  ];
  const kinds: ProbeKind[] = ['tcp', 'rtsp', 'onvif', 'http'];

  table.forEach(([fault, expected], row) => {
    for (const kind of kinds) {
      it(`when a camera is in fault mode ${fault.mode}${fault.latencyMs ? ` ${fault.latencyMs} ms` : ''}, then the ${kind} probe says ${expected[kind]}`, async () => {
        const i = row * 4 + kinds.indexOf(kind);
        sim.setCameraFault(addr(i), fault);
        const r = await probes[kind].check(target(kind, i));
        expect(r.outcome, JSON.stringify(r)).to.equal(expected[kind]);
        expect(r.up).to.equal(expected[kind] === 'ok' || expected[kind] === 'auth_required');
        expect(r.rttMs).to.be.a('number').and.at.least(0);
      });
    }
  });

  it('when the camera answers slowly past the timeout, then the probe gives up within 100 ms of it', async () => {
    sim.setCameraFault(addr(39), { mode: 'blackhole' });
    for (const kind of ['rtsp', 'onvif', 'http'] as const) {
      const t0 = performance.now();
      const r = await probes[kind].check(target(kind, 39, { timeoutMs: 250 }));
      const took = performance.now() - t0;
      expect(r.outcome).to.equal('timeout');
      expect(took, kind).to.be.at.least(245).and.below(350);
    }
  });

  it('when the signal aborts, then the probe returns at once as timeout/aborted', async () => {
    sim.setCameraFault(addr(38), { mode: 'blackhole' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const t0 = performance.now();
    const r = await probes.rtsp.check(target('rtsp', 38, { timeoutMs: 5000 }), ac.signal);
    expect(r.outcome).to.equal('timeout');
    expect(r.detail).to.equal('aborted');
    expect(performance.now() - t0).to.be.below(130);
  });

  it('when a point has credentials, then OPTIONS passes, DESCRIBE is auth_required, and ONVIF clock needs none', async () => {
    const opts = await probes.rtsp.check(target('rtsp', 40, { describe: false }));
    expect(opts.outcome).to.equal('ok');
    const desc = await probes.rtsp.check(target('rtsp', 40));
    expect(desc.outcome).to.equal('auth_required');
    expect(desc.detail).to.match(/Digest/);
    expect((await probes.onvif.check(target('onvif', 40))).outcome).to.equal('ok');
    expect((await probes.http.check(target('http', 40))).outcome).to.equal('auth_required');
  });

  it('when nothing listens on the port, then tcp and rtsp say refused', async () => {
    const free = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    for (const kind of ['tcp', 'rtsp', 'http'] as const) {
      const r = await probes[kind].check({ host: '127.0.0.1', port: free, timeoutMs: 500 });
      expect(r.outcome, kind).to.equal('refused');
    }
  });

  it('when a peer streams more than 64 KB, then the probe stops reading and says protocol_error', async () => {
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.write('RTSP/1.0 200 OK\r\nCSeq: 1\r\nX-Pad: ');
      const chunk = Buffer.alloc(16_384, 0x61);
      for (let i = 0; i < 8; i++) s.write(chunk);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const r = await probes.rtsp.check({ host: '127.0.0.1', port, timeoutMs: 1000 });
    server.close();
    expect(r.outcome).to.equal('protocol_error');
    expect(r.detail).to.match(/65536/);
  });

  it('when the CSeq is not echoed, then rtsp says protocol_error', async () => {
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.write('RTSP/1.0 200 OK\r\nCSeq: 7\r\n\r\n'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const r = await probes.rtsp.check({ host: '127.0.0.1', port, timeoutMs: 1000 });
    server.close();
    expect(r.outcome).to.equal('protocol_error');
    expect(r.detail).to.match(/CSeq/);
  });

  // The raw socket layer reads every connection into one shared buffer: a partial answer kept between reads
  // must be a copy, or the next connection's bytes overwrite it.
  it('when an answer arrives in two reads while other checks read their answers in between, then its first part is intact', async () => {
    const slow = net.createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => {
        s.write('RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: slow');
        setTimeout(() => s.write('\r\n\r\n'), 100);
      });
    });
    const busy = net.createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.write('RTSP/1.0 404 Stream Not Found\r\nCSeq: 9\r\nServer: XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\r\n\r\n'));
    });
    const listen = (srv: net.Server): Promise<number> => new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port)));
    const [slowPort, busyPort] = await Promise.all([listen(slow), listen(busy)]);
    const pending = probes.rtsp.check({ host: '127.0.0.1', port: slowPort, timeoutMs: 2000 });
    const others = await Promise.all(Array.from({ length: 20 }, () => probes.rtsp.check({ host: '127.0.0.1', port: busyPort, timeoutMs: 2000 })));
    const r = await pending;
    slow.close();
    busy.close();
    expect(others.every((o) => o.outcome === 'protocol_error' && /CSeq/.test(o.detail ?? ''))).to.equal(true);
    expect(r.outcome, r.detail).to.equal('ok');
  });

  it('when an RTSP answer is split or has a body, then the parser waits for all of it', () => {
    expect(scanRtspHead(Buffer.from('RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 5\r\n\r\nv=0'))).to.equal(null);
    expect(scanRtspHead(Buffer.from('RTSP/1.0 200 OK\r\nCSeq: 2\r\n'))).to.equal(null);
    const raw = Buffer.from('RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 5\r\n\r\nv=0\r\nEXTRA');
    const done = scanRtspHead(raw);
    expect(done).to.deep.equal({ status: 200, cseq: 2, contentLength: 5, bodyStart: 47, total: 52 });
    expect(raw.toString('latin1', 47, 52)).to.equal('v=0\r\n');
    const bad = scanRtspHead(Buffer.from('HTTP/1.1 200 OK\r\n\r\n'));
    expect(bad && 'error' in bad ? bad.error : '').to.match(/not RTSP/);
    // an early, partial answer that cannot be RTSP is refused before its end arrives
    // the target's bytes never reach a result: the error says what is wrong, not what was sent
    expect(scanRtspHead(Buffer.from('HTT'))).to.deep.equal({ error: 'not RTSP' });
  });

  it('when header names vary in case and values carry blanks, then CSeq, status and length are still read from the bytes', () => {
    const h = scanRtspHead(Buffer.from('RTSP/1.0 401 Unauthorized\r\ncseq :  12 \r\nWWW-Authenticate: Digest realm="x"\r\nCONTENT-LENGTH:0\r\n\r\n'));
    expect(h).to.include({ status: 401, cseq: 12, contentLength: 0 });
    // a CSeq that is not a plain number does not echo anything
    expect(scanRtspHead(Buffer.from('RTSP/1.0 200 OK\r\nCSeq: 1x\r\n\r\n'))).to.include({ cseq: -1 });
    expect(scanRtspHead(Buffer.from('RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: -3\r\n\r\n'))).to.have.property('error').that.matches(/Content-Length/);
    expect(scanRtspHead(Buffer.from('RTSP/1.0 20x OK\r\n\r\n'))).to.have.property('error').that.matches(/bad status line/);
    expect(scanRtspHead(Buffer.from('RTSP/1.0 200 OK\r\nno colon here\r\n\r\n'))).to.have.property('error').that.matches(/bad RTSP header line/);
  });
});

describe('probe socket layer', () => {
  it('when running on this Node, then the raw socket layer is available and chosen by default', () => {
    expect(rawAvailable).to.equal(true);
    expect(connKind()).to.equal('raw');
  });

  it('when the target is a hostname, then the probe still works (DNS goes through net)', async () => {
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.on('end', () => s.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const r = await probes.tcp.check({ host: 'localhost', port, timeoutMs: 1000 });
    server.close();
    expect(r.outcome, JSON.stringify(r)).to.equal('ok');
  });

  it('when the target is an IPv6 literal, then tcp and rtsp reach it on the raw layer', async () => {
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.on('end', () => s.end());
      s.on('data', (d: Buffer) => {
        const cseq = /CSeq: (\d+)/.exec(d.toString())?.[1] ?? '0';
        s.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const tcp = await probes.tcp.check({ host: '::1', port, timeoutMs: 1000 });
    const rtsp = await probes.rtsp.check({ host: '::1', port, timeoutMs: 1000 });
    server.close();
    expect(tcp.outcome, JSON.stringify(tcp)).to.equal('ok');
    expect(rtsp.outcome, JSON.stringify(rtsp)).to.equal('ok');
  });

  it('when many checks run through the callback form, then each gets exactly one result', async () => {
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.on('end', () => s.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const probe = probes.tcp;
    expect(probe.run).to.be.a('function');
    const counts = new Array<number>(200).fill(0);
    await Promise.all(counts.map((_, i) => new Promise<void>((resolve) => {
      probe.run?.({ host: '127.0.0.1', port, timeoutMs: 2000 }, (r) => {
        counts[i] += 1;
        expect(r.outcome).to.equal('ok');
        setTimeout(resolve, 20);
      });
    })));
    server.close();
    expect(counts.every((c) => c === 1)).to.equal(true);
  });
});
