import { expect } from 'chai';
import { BSON, Double, Long, ObjectId } from 'bson';
import { Double as DriverDouble, Long as DriverLong, type Document } from 'mongodb';
import { compileProjection } from '../../server/src/embedded-mongo/projection';
import { decodeBson, omitFields } from '../../server/src/embedded-mongo/wire';
import { useTarget } from './target';

const bytesOf = (d: Document): Buffer => Buffer.from(BSON.serialize(d));
const asDoc = (v: unknown): Document => (v instanceof Uint8Array ? decodeBson(v) : (v as Document));

describe('embedded-mongo: projections over stored BSON bytes', () => {
  const stored = { _id: new ObjectId(), a: new Long(7), big: 'x'.repeat(300), tags: ['p', 'q'], n: { p: 1, q: new Double(2) }, z: true };

  it('when top-level fields are excluded from bytes, then the other elements are kept byte for byte, numeric types included', () => {
    const out = omitFields(bytesOf(stored), new Set(['big', 'tags']));
    expect(out).to.be.instanceOf(Buffer);
    const raw = BSON.deserialize(out as Buffer, { promoteValues: false, promoteLongs: false });
    expect(Object.keys(raw)).to.deep.equal(['_id', 'a', 'n', 'z']);
    expect(raw.a).to.be.instanceOf(Long);
    expect((raw.n as Document).q).to.be.instanceOf(Double);
  });

  it('when nothing named is present, then the same bytes come back', () => {
    const b = bytesOf(stored);
    expect(omitFields(b, new Set(['nothere']))).to.equal(b);
  });

  it('when a cursor projection gets bytes, then inclusion decodes only the projected fields and exclusion answers with bytes', () => {
    const b = bytesOf(stored);
    const inc = compileProjection({ a: 1, 'n.p': 1 }, {});
    // the stored Int64 7 is held as a Long, so the projection re-encodes it as an Int64
    expect(asDoc(inc?.raw(b))).to.deep.equal({ _id: stored._id, a: new Long(7), n: { p: 1 } });
    const exc = compileProjection({ big: 0, tags: 0 }, {});
    const out = exc?.raw(b);
    expect(out).to.be.instanceOf(Uint8Array);
    expect(asDoc(out)).to.deep.equal({ _id: stored._id, a: new Long(7), n: { p: 1, q: new Double(2) }, z: true });
    // a nested exclusion cannot splice: it decodes and omits
    const nested = compileProjection({ 'n.q': 0 }, {});
    expect(asDoc(nested?.raw(b))).to.deep.equal({ _id: stored._id, a: new Long(7), big: stored.big, tags: ['p', 'q'], n: { p: 1 }, z: true });
  });

  it('when top-level fields are included from bytes, then _id and their elements are copied in document order, numeric types kept', () => {
    const b = bytesOf(stored);
    const out = compileProjection({ z: 1, a: 1, tags: 1 }, {})?.raw(b);
    expect(out).to.be.instanceOf(Uint8Array);
    const raw = BSON.deserialize(out as Uint8Array, { promoteValues: false, promoteLongs: false });
    expect(Object.keys(raw)).to.deep.equal(['_id', 'a', 'tags', 'z']);
    expect(raw.a).to.be.instanceOf(Long);
    expect(asDoc(compileProjection({ a: 1, _id: 0 }, {})?.raw(b))).to.deep.equal({ a: new Long(7) });
    expect(asDoc(compileProjection({ nothere: 1 }, {})?.raw(b))).to.deep.equal({ _id: stored._id });
    // stored with _id not first: decoded, _id put first as before
    const late = Buffer.from(BSON.serialize({ a: 1, _id: 5, b: 2 }));
    expect(Object.keys(asDoc(compileProjection({ b: 1 }, {})?.raw(late)))).to.deep.equal(['_id', 'b']);
  });

  it('when the document form is called (findAndModify), then a document comes back, never bytes', () => {
    const d = decodeBson(bytesOf(stored));
    const exc = compileProjection({ big: 0 }, {});
    const out = exc?.(d);
    expect(out).to.not.be.instanceOf(Uint8Array);
    expect(Object.keys(out ?? {})).to.deep.equal(['_id', 'a', 'tags', 'n', 'z']);
  });

  describe('through the wire', () => {
    const t = useTarget('projbytes');
    it('when a find excludes top-level fields, then they are absent and stored numeric types are unchanged', async () => {
      const c = t().db.collection('pb');
      await c.insertMany([
        { _id: 1, l: new DriverLong(5), d: new DriverDouble(3), drop: ['a', 'b'], keep: 'k' },
        { _id: 2, l: new DriverLong(6), d: new DriverDouble(4), drop: [], keep: 'm' },
      ] as Document[]);
      const got = await c.find({}, { projection: { drop: 0 }, promoteLongs: false, promoteValues: false }).sort({ _id: 1 }).toArray();
      expect(got.map((x) => Object.keys(x))).to.deep.equal([
        ['_id', 'l', 'd', 'keep'],
        ['_id', 'l', 'd', 'keep'],
      ]);
      expect(got[0].l).to.be.instanceOf(DriverLong);
      expect(got[0].d).to.be.instanceOf(DriverDouble);
    });
  });
});
