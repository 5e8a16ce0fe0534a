/**
 * The packed index tree against a plain sorted array: random runs, single sets, deletions, range and
 * prefix walks in both directions, and walks that continue while the tree changes under them.
 */
import { expect } from 'chai';
import { PackedTree } from '../../server/src/embedded-mongo/packed-tree';
import { prng as rng } from '../../server/src/lib/prng';


/** Keys over a small alphabet (with a zero byte and a high one-byte char) so many share long prefixes. */
function keyGen(r: () => number): () => string {
  const alphabet = ['\u0000', '\u0001', 'a', 'b', 'c', '\u00ff'];
  return () => {
    const n = 1 + Math.floor(r() * 10);
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
    return s;
  };
}

const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

class Model {
  readonly map = new Map<string, string>();
  sorted(): string[] {
    return [...this.map.keys()].sort(byKey);
  }
}

function check(tree: PackedTree, model: Model, r: () => number, key: () => string): void {
  const keys = model.sorted();
  expect(tree.size).to.equal(keys.length);
  expect([...tree.ids('')]).to.deep.equal(keys.map((k) => model.map.get(k)));
  for (let q = 0; q < 5; q++) {
    const a = key();
    const b = r() < 0.2 ? undefined : key();
    const want = keys.filter((k) => k >= a && (b === undefined || k < b)).map((k) => model.map.get(k));
    expect([...tree.ids(a, b)], `ids(${JSON.stringify(a)}, ${JSON.stringify(b)})`).to.deep.equal(want);
    expect([...tree.idsReversed(a, b)], `idsReversed(${JSON.stringify(a)}, ${JSON.stringify(b)})`).to.deep.equal([...want].reverse());
    const prefix = key().slice(0, 1 + Math.floor(r() * 2));
    const withPrefix = keys.filter((k) => k.startsWith(prefix)).map((k) => model.map.get(k));
    expect(tree.firstWithPrefix(prefix, '')).to.equal(withPrefix[0]);
    expect(tree.firstWithPrefix(prefix, withPrefix[0] ?? '')).to.equal(withPrefix[1]);
    const probe = r() < 0.5 && keys.length ? keys[Math.floor(r() * keys.length)] : key();
    expect(tree.get(probe)).to.equal(model.map.get(probe));
  }
}

describe('embedded store: packed index tree', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`when random runs, sets and deletes are applied (seed ${seed}), then every walk matches a sorted array`, () => {
      const r = rng(seed);
      const key = keyGen(r);
      const tree = new PackedTree();
      const model = new Model();
      for (let step = 0; step < 120; step++) {
        const op = r();
        if (op < 0.3) {
          // a sorted run, sometimes with keys already present (their value is replaced) and repeats
          const n = 1 + Math.floor(r() * (r() < 0.2 ? 2000 : 60));
          const run = Array.from({ length: n }, () => key()).sort(byKey);
          const ids = run.map((k) => `${k}#${step}`);
          tree.setRun(run, ids);
          // a repeated key in a run: the first occurrence wins
          for (let i = 0; i < run.length; i++) if (i === 0 || run[i - 1] !== run[i]) model.map.set(run[i], ids[i]);
        } else if (op < 0.55) {
          const k = key();
          tree.set(k, `${k}@${step}`);
          model.map.set(k, `${k}@${step}`);
        } else {
          // deletions, mostly of present keys, in bursts that empty and join leaves
          const keys = model.sorted();
          const n = Math.floor(r() * Math.max(1, keys.length / 3));
          for (let i = 0; i < n; i++) {
            const k = r() < 0.9 && keys.length ? keys[Math.floor(r() * keys.length)] : key();
            expect(tree.delete(k)).to.equal(model.map.delete(k));
          }
        }
        if (step % 10 === 0) check(tree, model, r, key);
      }
      check(tree, model, r, key);
    });
  }

  it('when a run spans many leaves, then it is split into full leaves and read back in order', () => {
    const tree = new PackedTree();
    const keys = Array.from({ length: 100_000 }, (_, i) => `k${String(i).padStart(6, '0')}`);
    tree.setRun(keys, keys);
    expect(tree.size).to.equal(100_000);
    expect([...tree.ids('k050000', 'k050003')]).to.deep.equal(['k050000', 'k050001', 'k050002']);
    expect([...tree.idsReversed('k099998')]).to.deep.equal(['k099999', 'k099998']);
    // interleaved keys land between the existing ones
    const odd = keys.filter((_, i) => i % 1000 === 0).map((k) => `${k}x`);
    tree.setRun(odd, odd);
    expect([...tree.ids('k001000', 'k001001')]).to.deep.equal(['k001000', 'k001000x']);
    expect(tree.size).to.equal(100_100);
  });

  it('when the tree changes while a walk is suspended, then the walk goes on in order from where it was', () => {
    const tree = new PackedTree();
    const keys = Array.from({ length: 5_000 }, (_, i) => `p${String(i * 2).padStart(6, '0')}`);
    tree.setRun(keys, keys);
    const up = tree.ids('');
    const down = tree.idsReversed('');
    const seenUp: string[] = [];
    const seenDown: string[] = [];
    for (let i = 0; i < 300; i++) seenUp.push(up.next().value as string);
    for (let i = 0; i < 300; i++) seenDown.push(down.next().value as string);
    // delete keys around both positions (whole leaves go), insert new ones, split leaves
    for (let i = 250; i < 900; i++) tree.delete(keys[i]);
    for (let i = 4_000; i < 4_800; i++) tree.delete(keys[i]);
    const added = Array.from({ length: 3_000 }, (_, i) => `p${String(i * 2 + 1).padStart(6, '0')}`);
    tree.setRun(added, added);
    for (let r = up.next(); !r.done; r = up.next()) seenUp.push(r.value);
    for (let r = down.next(); !r.done; r = down.next()) seenDown.push(r.value);
    const ascending = seenUp.every((k, i) => i === 0 || seenUp[i - 1] < k);
    const descending = seenDown.every((k, i) => i === 0 || seenDown[i - 1] > k);
    expect(ascending, 'forward walk stays ascending').to.equal(true);
    expect(descending, 'backward walk stays descending').to.equal(true);
    // every key present before and after the change is seen exactly once
    const kept = keys.filter((_, i) => !(i >= 250 && i < 900) && !(i >= 4_000 && i < 4_800));
    for (const k of kept) expect(seenUp.includes(k) && seenDown.includes(k), k).to.equal(true);
    expect(new Set(seenUp).size).to.equal(seenUp.length);
    expect(new Set(seenDown).size).to.equal(seenDown.length);
  });
});
