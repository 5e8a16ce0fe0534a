import { expect } from 'chai';
import { Dictionary, ListDictionary, SlotGroups, SlotTable } from '../../server/src/lib/columns';

describe('lib/columns: per-point state as columns', () => {
  it('when a point is removed, then its slot serves the next new point and its columns keep their values until set', () => {
    const t = new SlotTable(16);
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
    expect([...t.ids()]).to.deep.equal(['b', 'c']);
  });

  it('when the table outgrows its capacity, then every column grows with it and keeps what it held', () => {
    const t = new SlotTable(16);
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

  it('when a table keeps no slot → id, then slots are still handed out, reused and grown as in one that does, and id() refuses', () => {
    const plain = new SlotTable(16);
    const lean = new SlotTable(16, { idOfSlot: false });
    const seq = lean.u32();
    const handed = (t: SlotTable): number[] => {
      const out: number[] = [];
      for (let i = 0; i < 40; i++) out.push(t.add(`p${i}`));
      for (let i = 0; i < 40; i += 3) t.remove(`p${i}`);
      for (let i = 40; i < 60; i++) out.push(t.add(`p${i}`));
      return out;
    };
    expect(handed(lean)).to.deep.equal(handed(plain));
    expect(lean.size).to.equal(plain.size);
    seq.set(lean.slot('p59'), 0xffff_ffff);
    expect(seq.get(lean.slot('p59'))).to.equal(0xffff_ffff);
    expect([...lean.slots()]).to.deep.equal([...plain.slots()]);
    expect([...lean.slots()]).to.deep.equal([...lean.ids()].map((id) => lean.slot(id)));
    expect(() => lean.id(0)).to.throw(/slot → id/);
    lean.clear();
    plain.clear();
    expect(lean.add('again')).to.equal(plain.add('again'));
  });

  it('when slots are grouped, moved and removed, then each group lists its slots in the order they joined, like a Set', () => {
    const t = new SlotTable(16);
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
