import { createHash } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';

/**
 * How fast this machine is today, measured in the same run as a benchmark's figures (the shared 2-core
 * machine varies up to 2× from day to day): compare a result with an earlier one only after scaling by
 * these. Two figures: CPU-bound JavaScript (SHA-256 over 64 MiB plus a JSON round trip, ms) and the CPU
 * cost of a bare loopback TCP connect + close (µs, the unit of a polling probe).
 */
export interface Calibration {
  /** ms of wall time for the fixed CPU workload (lower = faster machine). */
  cpuMs: number;
  /** µs of process CPU per loopback connect + close, median of 5 rounds of 200. */
  connectUs: number;
  loadavg: string;
}

function cpuWorkload(): number {
  const started = process.hrtime.bigint();
  const chunk = Buffer.alloc(1 << 20, 7);
  const h = createHash('sha256');
  for (let i = 0; i < 64; i++) h.update(chunk);
  h.digest();
  const doc = { points: Array.from({ length: 20_000 }, (_, i) => ({ id: i, name: `点位${i}`, tags: ['路口', '学校'], loc: { lon: 122.9 + i / 1e5, lat: 41.1 } })) };
  for (let i = 0; i < 5; i++) JSON.parse(JSON.stringify(doc));
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function connectRound(port: number, n: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => s.destroy());
      s.once('close', () => resolve());
      s.once('error', () => resolve());
    });
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

export async function calibrate(): Promise<Calibration> {
  cpuWorkload();
  const cpu = [cpuWorkload(), cpuWorkload(), cpuWorkload()].sort((a, b) => a - b)[1];
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const rounds: number[] = [];
  try {
    for (let i = 0; i < 5; i++) rounds.push(await connectRound(port, 200));
  } finally {
    server.close();
  }
  rounds.sort((a, b) => a - b);
  return { cpuMs: Math.round(cpu), connectUs: Math.round(rounds[2]), loadavg: os.loadavg().map((x) => x.toFixed(1)).join(' ') };
}

export function calibrationLine(c: Calibration): string {
  return `calibration: cpu workload ${c.cpuMs} ms, loopback connect+close ${c.connectUs} CPU-µs (load average ${c.loadavg}) — compare runs only after scaling by these`;
}
