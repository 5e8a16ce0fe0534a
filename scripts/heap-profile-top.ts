/**
 * The allocation sites of a `.heapprofile` (V8's sampling heap profile, e.g. from `bench:import --alloc-prof DIR`),
 * largest first: bytes allocated by each function itself, and bytes allocated below each function (inclusive).
 *
 *   npx tsx scripts/heap-profile-top.ts FILE [--top 40] [--per N]
 *
 * `--per N` also prints bytes per unit (e.g. per imported point).
 */
import fs from 'node:fs';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: heap-profile-top.ts FILE [--top 40] [--per N]');
const flag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const TOP = flag('top', 40);
const PER = flag('per', 0);
const head = (JSON.parse(fs.readFileSync(file, 'utf8')) as { head: ProfileNode }).head;

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
const label = (n: ProfileNode): string => {
  const url = n.callFrame.url.replace(/^.*\/(server|scripts|node_modules)\//, '$1/');
  return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
};
/** Returns the bytes below `n`; each function counted once per path (recursion does not double it). */
function walk(n: ProfileNode, onPath: Set<string>): number {
  const key = label(n);
  self.set(key, (self.get(key) ?? 0) + n.selfSize);
  total += n.selfSize;
  const fresh = !onPath.has(key);
  if (fresh) onPath.add(key);
  let sum = n.selfSize;
  for (const c of n.children) sum += walk(c, onPath);
  if (fresh) {
    onPath.delete(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + sum);
  }
  return sum;
}
walk(head, new Set());
const mb = (b: number): string => `${(b / 1048576).toFixed(1).padStart(8)} MB${PER ? `${Math.round(b / PER).toString().padStart(7)} B/u` : ''}`;
console.log(`sampled allocations: ${mb(total)}`);
for (const [title, map] of [['by function (self)', self], ['by function (inclusive)', inclusive]] as const) {
  console.log(`\n${title}:`);
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${mb(v)}  ${k}`);
}
