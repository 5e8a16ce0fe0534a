/**
 * What a process keeps between two heap snapshots of it (V8 `.heapsnapshot` files, e.g. written by
 * `npm run bench:import -- --heap-snapshots DIR`):
 *
 *   npx tsx scripts/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--per 50000] [--top 40]
 *
 * V8 keeps an object's snapshot id for its lifetime, so the objects of AFTER whose id BEFORE does not hold
 * were allocated in between and are still reachable. Their self sizes are summed
 *   - by constructor (object type and name; strings as one group per string kind), and
 *   - by owner: the nearest object on the shortest path from the GC roots that is an instance of a named
 *     class (not Object, Array, Map, Set or V8 internals), with the property that leads away from it,
 *     e.g. `PointMirror.points` or `LiveHub.points`; an object reached only through plain objects and closures
 *     is grouped under the closure or module variable that holds it.
 * `--per N` divides by N (written points) to give bytes per point; `--samples OWNER` counts that owner's strings by
 * the property that holds them (duplicated copies show up there).
 * The files are parsed without JSON.parse of the whole (a snapshot of a large heap exceeds V8's string limit).
 */
import fs from 'node:fs';

interface Snapshot {
  nodeFields: number;
  edgeFields: number;
  nodeTypes: string[];
  edgeTypes: string[];
  nodes: Float64Array;
  edges: Float64Array;
  strings: string[];
  /** first edge index of each node (by node ordinal) */
  firstEdge: Uint32Array;
  nodeCount: number;
}

/** Parses the JSON number array that starts after `key` in the buffer. */
function numberArray(buf: Buffer, key: string, from = 0): { values: Float64Array; end: number } {
  const at = buf.indexOf(key, from);
  if (at < 0) throw new Error(`no ${key} in the snapshot`);
  let i = buf.indexOf(0x5b /* [ */, at) + 1;
  let out = new Float64Array(1 << 20);
  let n = 0;
  let cur = 0;
  let inNum = false;
  for (; i < buf.length; i++) {
    const c = buf[i];
    if (c >= 0x30 && c <= 0x39) {
      cur = cur * 10 + (c - 0x30);
      inNum = true;
    } else {
      if (inNum) {
        if (n === out.length) {
          const next = new Float64Array(out.length * 2);
          next.set(out);
          out = next;
        }
        out[n++] = cur;
        cur = 0;
        inNum = false;
      }
      if (c === 0x5d /* ] */) break;
    }
  }
  return { values: out.subarray(0, n), end: i };
}

function read(file: string): Snapshot {
  const buf = fs.readFileSync(file);
  const metaEnd = buf.indexOf('"nodes"');
  const head = buf.subarray(0, metaEnd).toString('utf8').replace(/,\s*$/, '') + '}';
  const meta = (JSON.parse(head) as { snapshot: { meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] } } }).snapshot.meta;
  const nodes = numberArray(buf, '"nodes"', metaEnd);
  const edges = numberArray(buf, '"edges"', nodes.end);
  const sAt = buf.indexOf('"strings"', edges.end);
  const sStart = buf.indexOf(0x5b, sAt);
  const sEnd = buf.lastIndexOf(0x5d);
  const strings = JSON.parse(buf.subarray(sStart, sEnd + 1).toString('utf8')) as string[];
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const nodeCount = nodes.values.length / nodeFields;
  const firstEdge = new Uint32Array(nodeCount + 1);
  const ecIdx = meta.node_fields.indexOf('edge_count');
  let e = 0;
  for (let n = 0; n < nodeCount; n++) {
    firstEdge[n] = e;
    e += nodes.values[n * nodeFields + ecIdx] * edgeFields;
  }
  firstEdge[nodeCount] = e;
  return { nodeFields, edgeFields, nodeTypes: meta.node_types[0], edgeTypes: meta.edge_types[0], nodes: nodes.values, edges: edges.values, strings, firstEdge, nodeCount };
}

const GENERIC = new Set(['Object', 'Array', 'Map', 'Set', 'WeakMap', 'Function', 'Promise', 'Generator', 'AsyncGenerator', 'Module']);

function main(): void {
  const [beforeFile, afterFile] = process.argv.slice(2).filter((a) => a.endsWith('.heapsnapshot'));
  if (!beforeFile || !afterFile) throw new Error('usage: heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--per N] [--top N]');
  const opt = (name: string, d: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : d;
  };
  const per = opt('per', 0);
  const top = opt('top', 40);
  const before = read(beforeFile);
  const beforeIds = new Set<number>();
  for (let n = 0; n < before.nodeCount; n++) beforeIds.add(before.nodes[n * before.nodeFields + 2]);
  const total = (s: Snapshot): number => {
    let t = 0;
    for (let n = 0; n < s.nodeCount; n++) t += s.nodes[n * s.nodeFields + 3];
    return t;
  };
  const beforeTotal = total(before);
  before.nodes = new Float64Array(0);
  before.edges = new Float64Array(0);
  const s = read(afterFile);
  const F = s.nodeFields;
  const EF = s.edgeFields;
  const typeOf = (n: number): string => s.nodeTypes[s.nodes[n * F]];
  const nameOf = (n: number): string => s.strings[s.nodes[n * F + 1]];
  const selfOf = (n: number): number => s.nodes[n * F + 3];
  const weak = s.edgeTypes.indexOf('weak');
  const shortcut = s.edgeTypes.indexOf('shortcut');
  const numericEdge = new Set([s.edgeTypes.indexOf('element'), s.edgeTypes.indexOf('hidden')]);

  // shortest paths from the root (node 0), as DevTools computes distances
  const parent = new Int32Array(s.nodeCount).fill(-1);
  const parentEdge = new Int32Array(s.nodeCount).fill(-1);
  const queue = new Int32Array(s.nodeCount);
  let qh = 0;
  let qt = 0;
  parent[0] = 0;
  queue[qt++] = 0;
  while (qh < qt) {
    const n = queue[qh++];
    for (let e = s.firstEdge[n]; e < s.firstEdge[n + 1]; e += EF) {
      const et = s.edges[e];
      if (et === weak || et === shortcut) continue;
      const to = s.edges[e + 2] / F;
      if (parent[to] !== -1) continue;
      parent[to] = n;
      parentEdge[to] = e;
      queue[qt++] = to;
    }
  }
  const edgeName = (e: number): string => (numericEdge.has(s.edges[e]) ? `[${s.edges[e + 1]}]` : s.strings[s.edges[e + 1]]);
  const isOwner = (n: number): boolean => {
    const t = typeOf(n);
    if (t === 'closure') return true;
    if (t !== 'object') return false;
    const name = nameOf(n);
    return !GENERIC.has(name) && !name.startsWith('system /') && !name.startsWith('(') && name !== '';
  };
  /** The owner of a node: nearest class instance or closure above it, and the edge leaving that owner. */
  const ownerCache = new Map<number, string>();
  const ownerOf = (n: number): string => {
    const path: number[] = [];
    let cur = n;
    let label = '(unreachable)';
    for (let depth = 0; depth < 200; depth++) {
      const cached = ownerCache.get(cur);
      if (cached !== undefined) {
        label = cached;
        break;
      }
      const p = parent[cur];
      if (p === -1) break;
      if (p === 0 || p === cur) {
        label = `(root) ${nameOf(cur).slice(0, 60)}`;
        break;
      }
      path.push(cur);
      if (isOwner(p)) {
        // a closure holds its variables through its context: name the variable, not the edge to the context
        const viaContext = typeOf(p) === 'closure' && edgeName(parentEdge[cur]) === 'context' && path.length >= 2;
        const edge = viaContext ? `context.${edgeName(parentEdge[path[path.length - 2]])}` : edgeName(parentEdge[cur]);
        label = `${typeOf(p) === 'closure' ? `closure ${nameOf(p) || '(anonymous)'}` : nameOf(p)}.${edge}`;
        break;
      }
      cur = p;
    }
    for (const x of path) ownerCache.set(x, label);
    return label;
  };

  const sampleOwner = process.argv.includes('--samples') ? process.argv[process.argv.indexOf('--samples') + 1] : null;
  const samples = new Map<string, number>();
  const byCtor = new Map<string, { bytes: number; count: number }>();
  const byOwner = new Map<string, { bytes: number; count: number }>();
  const byOwnerCtor = new Map<string, Map<string, { bytes: number; count: number }>>();
  let newBytes = 0;
  let newCount = 0;
  for (let n = 0; n < s.nodeCount; n++) {
    if (beforeIds.has(s.nodes[n * F + 2]) || parent[n] === -1) continue;
    const size = selfOf(n);
    newBytes += size;
    newCount++;
    const t = typeOf(n);
    const ctor = t === 'object' || t === 'closure' ? `${t} ${nameOf(n)}` : t === 'string' || t === 'concatenated string' || t === 'sliced string' ? t : `${t} ${nameOf(n).slice(0, 40)}`;
    const c = byCtor.get(ctor) ?? { bytes: 0, count: 0 };
    c.bytes += size;
    c.count++;
    byCtor.set(ctor, c);
    const owner = ownerOf(n);
    if (owner === sampleOwner && t.includes('string') && parent[n] >= 0) {
      // which property holds these strings, and how often the same value recurs
      const key = `${edgeName(parentEdge[n])} (${typeOf(parent[n])} ${nameOf(parent[n])})`;
      samples.set(key, (samples.get(key) ?? 0) + 1);
    }
    const o = byOwner.get(owner) ?? { bytes: 0, count: 0 };
    o.bytes += size;
    o.count++;
    byOwner.set(owner, o);
    let oc = byOwnerCtor.get(owner);
    if (!oc) byOwnerCtor.set(owner, (oc = new Map<string, { bytes: number; count: number }>()));
    const occ = oc.get(ctor) ?? { bytes: 0, count: 0 };
    occ.bytes += size;
    occ.count++;
    oc.set(ctor, occ);
  }
  const mb = (b: number): string => (b / 1e6).toFixed(1).padStart(8);
  const pp = (b: number): string => (per ? `${(b / per).toFixed(0).padStart(6)} B/pt` : '');
  process.stdout.write(`heap (self sizes, all nodes): before ${mb(beforeTotal)} MB, after ${mb(total(s))} MB\n`);
  process.stdout.write(`reachable objects allocated in between and still held: ${newCount} objects, ${mb(newBytes)} MB ${pp(newBytes)}\n\n`);
  const print = (title: string, m: Map<string, { bytes: number; count: number }>): void => {
    process.stdout.write(`${title}\n`);
    for (const [k, v] of [...m].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) process.stdout.write(`${mb(v.bytes)} MB ${pp(v.bytes)} ${String(v.count).padStart(9)}  ${k}\n`);
    process.stdout.write('\n');
  };
  print('by constructor:', byCtor);
  print('by owner (nearest class instance or closure on the shortest path from the roots, and its property):', byOwner);
  if (sampleOwner) {
    process.stdout.write(`strings under ${sampleOwner}, by the property that holds them:\n`);
    for (const [k, v] of [...samples].sort((a, b) => b[1] - a[1]).slice(0, 20)) process.stdout.write(`  ${String(v).padStart(9)}  ${k}\n`);
  }
  process.stdout.write('the largest owners by constructor:\n');
  for (const [owner] of [...byOwner].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 8)) {
    process.stdout.write(`  ${owner}\n`);
    for (const [k, v] of [...(byOwnerCtor.get(owner) ?? [])].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 8)) {
      process.stdout.write(`  ${mb(v.bytes)} MB ${pp(v.bytes)} ${String(v.count).padStart(9)}  ${k}\n`);
    }
  }
}

main();
