import { expect } from 'chai';
import { Dictionary, IdSpace, ListDictionary, NumberColumn, SlotGroups, SlotTable, ValueColumn } from '../../server/src/lib/columns';
import { prng } from '../../server/src/lib/prng';
import { fullGc, heapUsedAfterGc } from '../../scripts/heap-used';

describe('lib/columns: per-point state as columns', () => {
  it('when a point is removed, then its slot serves the next new point and its columns keep their values until set', () => {
    const t = new SlotTable(new IdSpace(16));
    const st = t.u8();
    const since = t.f64(NaN);
    const a = t.add('a');
    const b = t.add('b');
    st.set(a, 3);
    since.set(b, 1_700_000_000.5);
    expect(t.add('a')).to.equal(a);
    expect(t.remove('a')).to.equal(a);
    expect(t.slot('a')).to.equal(-1);
    expect(t.id(a)).to.equal(undefined);
    const c = t.add('c');
    expect(c).to.equal(a);
    expect(t.id(c)).to.equal('c');
    expect(since.get(b)).to.equal(1_700_000_000.5);
    expect(Number.isNaN(since.get(c))).to.equal(true);
    // slot order: c took a's slot
    expect([...t.ids()]).to.deep.equal(['c', 'b']);
  });

  it('when the table outgrows its capacity, then every column grows with it and keeps what it held', () => {
    const t = new SlotTable(new IdSpace(16));
    const code = t.i32(-1);
    const name = t.values('');
    for (let i = 0; i < 1000; i++) {
      const s = t.add(`p${i}`);
      code.set(s, i * 7);
      name.set(s, `name ${i}`);
    }
    expect(t.size).to.equal(1000);
    expect(code.get(t.slot('p999'))).to.equal(6993);
    expect(code.get(t.slot('p0'))).to.equal(0);
    expect(name.get(t.slot('p500'))).to.equal('name 500');
  });

  it('when registry ids (24 hex digits) and other ids are added, removed and added again in any order, then the table answers as a map would', () => {
    const t = new SlotTable(new IdSpace(16));
    const model = new Map<string, number>();
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    // ObjectId-like ids that differ in their last bytes only (as one process's ObjectIds do), and a few others
    const pool = Array.from({ length: 3000 }, (_, i) => (i % 50 === 7 ? `fixture-${i}` : (0x6570_0000_0000 + i * 17).toString(16).padStart(24, '0')));
    pool.push('ABCDEF0123456789abcdef01', '0123456789abcdef0123456'); // upper case, 23 digits: not kept as bytes
    for (let step = 0; step < 40_000; step++) {
      const id = pool[rnd(pool.length)];
      if (rnd(3) === 0) {
        const slot = model.get(id) ?? -1;
        expect(t.remove(id), `remove ${id}`).to.equal(slot);
        model.delete(id);
      } else {
        const slot = t.add(id);
        if (model.has(id)) expect(slot).to.equal(model.get(id));
        else {
          expect([...model.values()]).to.not.include(slot);
          model.set(id, slot);
        }
      }
    }
    expect(t.size).to.equal(model.size);
    for (const id of pool) {
      expect(t.slot(id), id).to.equal(model.get(id) ?? -1);
      expect(t.has(id)).to.equal(model.has(id));
    }
    for (const [id, slot] of model) expect(t.id(slot)).to.equal(id);
    expect(new Map(t.entries())).to.deep.equal(model);
    expect([...t.slots()].sort((a, b) => a - b)).to.deep.equal([...model.values()].sort((a, b) => a - b));
    t.clear();
    expect(t.size).to.equal(0);
    expect(t.slot(pool[0])).to.equal(-1);
    // its slots are free again: the next id takes one of them, none beyond
    expect(t.add(pool[1])).to.be.below(3002);
    expect(t.size).to.equal(1);
  });

  it('when 200,000 registry ids are added, then the table keeps under 50 bytes each and not their strings (~43 with the id space; a Map entry, slot → id and the id string: ~143)', () => {
    const n = 200_000;
    const before = heapUsedAfterGc();
    const t = new SlotTable(new IdSpace());
    for (let i = 0; i < n; i++) t.add((0x6570_0000_0000 + i).toString(16).padStart(24, '0'));
    const perPoint = (heapUsedAfterGc() - before) / n;
    expect(t.size).to.equal(n);
    expect(t.slot((0x6570_0000_0000 + 123_456).toString(16).padStart(24, '0'))).to.equal(123_456);
    expect(perPoint, `${perPoint.toFixed(1)} bytes a point`).to.be.below(50);
  });

  it('when several tables hold points of one id space, then a point has one slot in all of them, freed when the last lets go or is dropped', async () => {
    const space = new IdSpace(16);
    const live = new SlotTable(space);
    const alerting = new SlotTable(space);
    const id = '6570a1b2c3d4e5f601234567';
    const a = live.add(id);
    expect(alerting.slot(id)).to.equal(-1);
    expect(alerting.add(id)).to.equal(a);
    expect(space.size).to.equal(1);
    live.remove(id);
    expect(live.slot(id)).to.equal(-1);
    expect(alerting.slot(id)).to.equal(a);
    expect(alerting.id(a)).to.equal(id);
    expect(live.id(a)).to.equal(undefined);
    alerting.remove(id);
    expect(space.size).to.equal(0);
    // the columns of every table grow with the space
    const st = live.u8();
    for (let i = 0; i < 100; i++) st.set(alerting.add(`p${i}`), 1);
    expect(space.capacity).to.be.at.least(100);
    expect(st.length).to.equal(space.capacity);
    // a table dropped without letting go (a replaced index) frees its slots once collected
    (() => {
      const dropped = new SlotTable(space);
      for (let i = 0; i < 50; i++) dropped.add(`q${i}`);
    })();
    expect(space.size).to.equal(150);
    for (let round = 0; round < 20 && space.size > 100; round++) {
      fullGc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(space.size).to.equal(100);
    expect(alerting.size).to.equal(100);
  });

  it('when a column outgrows a page, then it grows by a page without copying what it holds, and keeps every value', () => {
    const page = 65_536;
    const col = new NumberColumn((n) => new Float64Array(n), NaN, 1000);
    const names = new ValueColumn<string>('');
    for (let s = 0; s < 1000; s++) col.set(s, s * 0.5);
    col.grow(2 * page);
    col.set(2 * page - 1, 7);
    names.set(2 * page + 5, '第三页');
    const before = process.memoryUsage().arrayBuffers;
    col.grow(3 * page);
    // one page more (512 KiB of doubles), not a copy of all three (1.5 MiB)
    expect(process.memoryUsage().arrayBuffers - before).to.be.below(1.2 * page * 8);
    expect(col.length).to.equal(3 * page);
    expect([col.get(0), col.get(999), col.get(2 * page - 1)]).to.deep.equal([0, 499.5, 7]);
    expect(Number.isNaN(col.get(1000)) && Number.isNaN(col.get(3 * page - 1))).to.equal(true);
    expect([names.get(2 * page + 5), names.get(2 * page + 4), names.get(9)]).to.deep.equal(['第三页', '', '']);
  });

  it('when a column is only ever given its empty value, then it makes no page for those points; the first other value makes one page', () => {
    const page = 65_536;
    const last = new NumberColumn((n) => new Float64Array(n), NaN, 4 * page);
    const grid = new NumberColumn((n) => new Int32Array(n), -1, 4 * page);
    const reasons = new ValueColumn<string | null>(null);
    for (let s = 0; s < 4 * page; s++) {
      last.set(s, NaN);
      grid.set(s, -1);
      reasons.set(s, null);
    }
    // a million never-checked points cost 16 bytes each in two such columns before
    expect([last.bytes, grid.bytes]).to.deep.equal([0, 0]);
    expect(Number.isNaN(last.get(3 * page + 7)) && grid.get(5) === -1 && reasons.get(2 * page) === null).to.equal(true);
    last.set(3 * page + 7, 1_733_000_000_000);
    grid.set(5, 12);
    reasons.set(2 * page + 3, 'timeout');
    expect([last.bytes, grid.bytes]).to.deep.equal([page * 8, page * 4]);
    expect([last.get(3 * page + 7), grid.get(5), grid.get(6), reasons.get(2 * page + 3), reasons.get(2 * page + 2)]).to.deep.equal([1_733_000_000_000, 12, -1, 'timeout', null]);
    expect(Number.isNaN(last.get(3 * page + 8))).to.equal(true);
    // a small table's first page is as small as the table, and grows by copying what it holds
    const small = new NumberColumn((n) => new Uint32Array(n), 0, 100);
    small.set(3, 9);
    expect(small.bytes).to.equal(400);
    small.grow(1000);
    expect([small.bytes, small.get(3), small.get(999)]).to.deep.equal([4000, 9, 0]);
  });

  it('when text columns are set, replaced and reset in any order, then each slot reads back exactly the string it was given, through compactions', () => {
    const t = new SlotTable(new IdSpace(16));
    const col = t.text();
    const rnd = prng(12);
    const pieces = ['鞍山市铁东区', '人民路', '12号', 'IPC-', 'ü', '\u00ff', '\u0100', '𠀀', '\ud800', '\udc00x', ' ', '', '2103020000132'];
    const make = (): string => {
      if (rnd() < 0.01) return 'x'.repeat(4000 + Math.floor(rnd() * 3000)) + pieces[Math.floor(rnd() * pieces.length)];
      let v = '';
      for (let k = Math.floor(rnd() * 6); k > 0; k--) v += pieces[Math.floor(rnd() * pieces.length)];
      return v;
    };
    const model = new Map<number, string>();
    const slots = Array.from({ length: 3000 }, (_, i) => t.add(`point-${i}`));
    let peakBytes = 0;
    for (let step = 0; step < 200_000; step++) {
      const s = slots[Math.floor(rnd() * slots.length)];
      if (rnd() < 0.2) {
        col.reset(s);
        model.delete(s);
      } else {
        const v = make();
        col.set(s, v);
        model.set(s, v);
      }
      peakBytes = Math.max(peakBytes, col.bytes);
    }
    for (const s of slots) expect(col.get(s)).to.equal(model.get(s) ?? '');
    // 200,000 writes of ~15 bytes (plus a few long ones outside the pages) never kept more than a few pages:
    // dead bytes were compacted away
    expect(peakBytes).to.be.at.most(4 * 1048576);
  });

  it('when 200,000 names, addresses and codes are kept in text columns, then they cost under 130 bytes a point with their slots (~120; as strings in value columns ~200)', () => {
    const n = 200_000;
    const measure = (kind: 'text' | 'values'): number => {
      const before = heapUsedAfterGc();
      const t = new SlotTable(new IdSpace());
      const cols = kind === 'text' ? [t.text(), t.text(), t.text()] : [t.values(''), t.values(''), t.values('')];
      for (let i = 0; i < n; i++) {
        const s = t.add((0x6570_0000_0000 + i).toString(16).padStart(24, '0'));
        cols[0].set(s, `鞍山市铁东区园林路口-${i}`);
        cols[1].set(s, `辽宁省鞍山市铁东区人民路${i % 300}号`);
        cols[2].set(s, `2103020000132${String(i).padStart(7, '0')}`);
      }
      const per = (heapUsedAfterGc() - before) / n;
      const s = t.slot((0x6570_0000_0000 + 4321).toString(16).padStart(24, '0'));
      expect([cols[0].get(s), cols[1].get(s), cols[2].get(s)]).to.deep.equal(['鞍山市铁东区园林路口-4321', '辽宁省鞍山市铁东区人民路121号', '21030200001320004321']);
      return per - 43; // less the id space's share (the test above)
    };
    const text = measure('text');
    const values = measure('values');
    expect(text, `${text.toFixed(0)} bytes a point; values ${values.toFixed(0)}`).to.be.below(130);
    expect(text).to.be.below(0.7 * values);
  });

  it('when a pass walks a snapshot of the ids while points come and go, then it gets each id held at the start and still held when reached, once', () => {
    const t = new SlotTable(new IdSpace(16));
    const ids = Array.from({ length: 10 }, (_, i) => (0x6570_0000_0000 + i).toString(16).padStart(24, '0'));
    for (const id of ids) t.add(id);
    const seen: string[] = [];
    for (const id of t.idsSnapshot()) {
      seen.push(id);
      if (id === ids[2]) {
        t.remove(ids[5]);
        t.add('added-meanwhile');
      }
    }
    expect(seen).to.deep.equal(ids.filter((_, i) => i !== 5));
  });

  it('when slots are grouped, moved and removed, then each group lists its slots in the order they joined, like a Set', () => {
    const t = new SlotTable(new IdSpace(16));
    const g = new SlotGroups(t);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => t.add(id));
    for (const s of [a, b, c, d]) g.add(s, 1);
    g.remove(b);
    g.add(a, 2);
    g.add(b, 1);
    expect([...g.slots(1)]).to.deep.equal([c, d, b]);
    expect([...g.slots(2)]).to.deep.equal([a]);
    expect(g.size(1)).to.equal(3);
    g.remove(a);
    expect([...g.slots(2)]).to.deep.equal([]);
    expect(g.size(2)).to.equal(0);
    expect(g.group(a)).to.equal(-1);
    g.remove(d);
    g.remove(c);
    g.remove(b);
    expect([...g.slots(1)]).to.deep.equal([]);
  });

  it('when values and lists are coded, then equal values get one code and one copy', () => {
    const d = new Dictionary();
    const x = d.code('region-1');
    expect(d.code('region-1'.split('').join(''))).to.equal(x);
    expect(d.find('region-2')).to.equal(-1);
    expect(d.value(x)).to.equal('region-1');
    const l = new ListDictionary(d);
    const tags = l.code(['bench', 'east']);
    expect(l.code(['bench', 'east'])).to.equal(tags);
    expect(l.code(['east', 'bench'])).to.not.equal(tags);
    expect(l.value(tags)).to.deep.equal(['bench', 'east']);
    expect(Object.isFrozen(l.value(tags))).to.equal(true);
    expect(l.code([])).to.equal(0);
    expect(l.value(0)).to.deep.equal([]);
  });
});
