import { expect } from 'chai';
import { Binary, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, UUID, type Document } from 'mongodb';
import { useTarget } from './target';

describe('embedded-mongo conformance: BSON types round trip', () => {
  const t = useTarget('bson');
  const coll = () => t().db.collection('types');

  it('when an ObjectId is stored and read, then it is the same ObjectId and queries by it match', async () => {
    const id = new ObjectId();
    const ref = new ObjectId();
    await coll().insertOne({ _id: id, ref });
    const d = await coll().findOne({ ref });
    expect(d?._id).to.be.instanceOf(ObjectId);
    expect(d?._id.equals(id)).to.equal(true);
    expect((d?.ref as ObjectId).toHexString()).to.equal(ref.toHexString());
  });

  it('when a Date is stored, then it comes back as a Date with millisecond precision and compares by time', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    await coll().insertOne({ kind: 'date', at });
    const d = await coll().findOne({ kind: 'date', at: { $gt: new Date('2026-01-01T00:00:00Z') } });
    expect(d?.at).to.be.instanceOf(Date);
    expect((d?.at as Date).toISOString()).to.equal('2026-01-02T03:04:05.678Z');
  });

  it('when a Long beyond 2^53 is stored, then it round-trips exactly and compares numerically with ints', async () => {
    const big = Long.fromString('9007199254740993');
    await coll().insertOne({ kind: 'long', v: big, small: Long.fromNumber(5) });
    const d = await t().db.collection('types').findOne({ kind: 'long' }, { promoteLongs: false });
    expect(d?.v).to.be.instanceOf(Long);
    expect((d?.v as Long).toString()).to.equal('9007199254740993');
    const bySmall = await coll().findOne({ kind: 'long', small: 5 });
    expect(bySmall, 'Long(5) equals int 5').to.not.equal(null);
  });

  it('when a Decimal128 is stored, then its exact decimal string survives', async () => {
    await coll().insertOne({ kind: 'dec', v: Decimal128.fromString('12345678901234567890.123456789') });
    const d = await coll().findOne({ kind: 'dec' });
    expect(d?.v).to.be.instanceOf(Decimal128);
    expect((d?.v as Decimal128).toString()).to.equal('12345678901234567890.123456789');
  });

  it('when Binary data (generic and UUID subtypes) is stored, then bytes and subtype survive', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const uuid = new UUID();
    await coll().insertOne({ kind: 'bin', raw: new Binary(bytes), uuid });
    const d = await coll().findOne({ kind: 'bin' });
    const raw = d?.raw as Binary;
    expect(raw.sub_type).to.equal(0);
    expect(Buffer.from(raw.buffer).equals(bytes)).to.equal(true);
    const u = d?.uuid as Binary;
    expect(u.sub_type).to.equal(4);
    expect(Buffer.from(u.buffer).toString('hex')).to.equal(uuid.toHexString(false));
  });

  it('when Int32 and Double are stored, then their types are kept (with promoteValues off)', async () => {
    await coll().insertOne({ kind: 'num', i: new Int32(7), d: new Double(7), f: 1.5 });
    const d = await coll().findOne({ kind: 'num' }, { promoteValues: false });
    expect(d?.i).to.be.instanceOf(Int32);
    expect(d?.d).to.be.instanceOf(Double);
    expect((d?.f as Double).value).to.equal(1.5);
    const byType = await coll().countDocuments({ kind: 'num', i: { $type: 'int' }, d: { $type: 'double' } });
    expect(byType).to.equal(1);
  });

  it('when nested documents and arrays of documents are stored, then structure and field order survive', async () => {
    const doc = { kind: 'nested', a: { z: 1, b: { c: [1, { d: 'deep' }, [2, 3]] } }, list: [{ x: 1 }, { y: null }] };
    await coll().insertOne(doc);
    const d = await coll().findOne({ kind: 'nested' }, { projection: { _id: 0 } });
    expect(d).to.deep.equal({ kind: 'nested', a: { z: 1, b: { c: [1, { d: 'deep' }, [2, 3]] } }, list: [{ x: 1 }, { y: null }] });
    expect(Object.keys(d?.a as object)).to.deep.equal(['z', 'b']);
  });

  it('when a field is null versus missing, then null is stored as null and $type/$exists tell them apart', async () => {
    await coll().insertMany([{ kind: 'nm', tag: 'null', v: null }, { kind: 'nm', tag: 'missing' }]);
    const nul = await coll().findOne({ kind: 'nm', tag: 'null' }, { projection: { _id: 0 } });
    expect(nul).to.deep.equal({ kind: 'nm', tag: 'null', v: null });
    const missing = await coll().findOne({ kind: 'nm', tag: 'missing' }, { projection: { _id: 0 } });
    expect(missing).to.deep.equal({ kind: 'nm', tag: 'missing' });
    expect(await coll().countDocuments({ kind: 'nm', v: null })).to.equal(2);
    expect(await coll().countDocuments({ kind: 'nm', v: { $type: 'null' } })).to.equal(1);
    expect(await coll().countDocuments({ kind: 'nm', v: { $exists: false } })).to.equal(1);
  });

  it('when Chinese text, booleans, Timestamp, MinKey and MaxKey are stored, then they round-trip', async () => {
    await coll().insertOne({ kind: 'misc', name: '大连市中山区 人民路摄像头', on: true, off: false, ts: new Timestamp({ t: 1700000000, i: 3 }), lo: new MinKey(), hi: new MaxKey() });
    const d = await coll().findOne({ name: '大连市中山区 人民路摄像头' });
    expect(d?.on).to.equal(true);
    expect(d?.off).to.equal(false);
    expect((d?.ts as Timestamp).t).to.equal(1700000000);
    expect((d?.ts as Timestamp).i).to.equal(3);
    expect(d?.lo).to.be.instanceOf(MinKey);
    expect(d?.hi).to.be.instanceOf(MaxKey);
  });

  it('when values of different types are sorted, then BSON comparison order applies (null < numbers < strings < objects < ObjectId < bool < Date)', async () => {
    const c = t().db.collection('order');
    await c.insertMany([
      { _id: 1, v: new Date(0) },
      { _id: 2, v: true },
      { _id: 3, v: new ObjectId('000000000000000000000000') },
      { _id: 4, v: { a: 1 } },
      { _id: 5, v: 'str' },
      { _id: 6, v: 3 },
      { _id: 7, v: null },
    ] as Document[]);
    const out = await c.find({}).sort({ v: 1 }).toArray();
    expect(out.map((d) => d._id)).to.deep.equal([7, 6, 5, 4, 3, 2, 1]);
  });

  it('when numbers of different BSON types are compared, then 1 (int), 1.0 (double), Long 1 and Decimal 1 are equal', async () => {
    const c = t().db.collection('numeq');
    await c.insertMany([{ v: new Int32(1) }, { v: 1.0 }, { v: Long.fromNumber(1) }, { v: Decimal128.fromString('1') }, { v: 2 }]);
    expect(await c.countDocuments({ v: 1 })).to.equal(4);
    expect(await c.countDocuments({ v: { $gt: Decimal128.fromString('1.5') } })).to.equal(1);
  });
});
