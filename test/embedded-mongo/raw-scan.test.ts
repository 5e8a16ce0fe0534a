import { expect } from 'chai';
import { BSON, ObjectId } from 'bson';
import { Collection, idKey } from '../../server/src/embedded-mongo/collection';
import { compileProjection } from '../../server/src/embedded-mongo/projection';
import { runQuery } from '../../server/src/embedded-mongo/query';
import { decodeBson, rawBson } from '../../server/src/embedded-mongo/wire';

/** A collection holding `n` documents as stored bytes only (as after a bulk insert or a restart). */
function storedAsBytes(n: number): Collection {
  const coll = new Collection('db', 'raw', {}, []);
  for (let i = 0; i < n; i++) {
    const bytes = Buffer.from(BSON.serialize({ _id: new ObjectId(), i, name: `p${i}`, big: 'x'.repeat(200) }));
    const doc = decodeBson(bytes);
    rawBson.set(doc, bytes);
    coll.load(idKey(doc._id), doc);
  }
  return coll;
}

describe('embedded-mongo: a match-all raw find does not decode the stored documents', () => {
  it('when a match-all find is raw, then it returns the stored bytes and leaves the documents undecoded', () => {
    const coll = storedAsBytes(20);
    const r = runQuery(coll, {}, { raw: true, skip: 2, limit: 5 });
    expect(r.docs).to.have.length(5);
    expect(r.docs.every((d) => d instanceof Uint8Array)).to.equal(true);
    const project = compileProjection({ name: 1 }, {});
    // a top-level inclusion answers with the spliced bytes too
    const projected = r.docs.map((d) => project?.raw(d));
    expect(projected.every((d) => d instanceof Uint8Array)).to.equal(true);
    expect(projected.map((d) => decodeBson(d as Buffer).name)).to.deep.equal(['p2', 'p3', 'p4', 'p5', 'p6']);
    expect([...coll.docs.peekValues()].every((d) => d instanceof Uint8Array), 'still only bytes in the store').to.equal(true);
  });

  it('when the find is not raw, then full documents come back as before', () => {
    const coll = storedAsBytes(5);
    const r = runQuery(coll, {}, {});
    expect(r.docs.map((d) => d.i)).to.deep.equal([0, 1, 2, 3, 4]);
    expect(r.docs.every((d) => !(d instanceof Uint8Array))).to.equal(true);
  });
});
