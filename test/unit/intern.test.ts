import { expect } from 'chai';
import { Interner } from '../../server/src/lib/intern';

describe('lib/intern: one copy of recurring values', () => {
  it('when the same list of strings comes twice, then the same frozen array is returned, equal to the input', () => {
    const t = new Interner();
    const a = t.list(['bench', 'east']);
    const b = t.list(['bench', 'east'].map((x) => x.slice()));
    expect(b).to.equal(a);
    expect(a).to.deep.equal(['bench', 'east']);
    expect(Object.isFrozen(a)).to.equal(true);
    expect(t.list(['east', 'bench'])).to.not.equal(a);
    expect(t.list([])).to.equal(t.list([]));
  });

  it('when lists differ only in how they would join, then they stay apart', () => {
    const t = new Interner();
    expect(t.list(['a,b'])).to.deep.equal(['a,b']);
    expect(t.list(['a', 'b'])).to.deep.equal(['a', 'b']);
  });

  it('when the table outgrows its cap, then it starts over and still returns equal values', () => {
    const t = new Interner(3);
    const values = ['r1', 'r2', 'r3', 'r4', 'r5'].map((v) => t.str(v));
    expect(values).to.deep.equal(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(t.str('r1')).to.equal('r1');
    expect(t.list(['x']).concat()).to.deep.equal(['x']);
  });
});
