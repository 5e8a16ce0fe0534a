import { expect } from 'chai';
import { Long, ObjectId } from 'bson';
import { compareValues } from '../../server/src/embedded-mongo/compare';
import { complement, encodeField, encodeValue, successor } from '../../server/src/embedded-mongo/keycodec';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Values whose encodings must sort like MongoDB: edge chars, CJK, surrogates, numbers of every sign. */
const values: unknown[] = [
  null,
  -Infinity,
  -1e300,
  -2.5,
  -1,
  -0.0001,
  0,
  1e-300,
  1,
  new Long(2),
  2.5,
  1e300,
  Infinity,
  '',
  '\u0000',
  '\u0000a',
  '\u0001',
  '\u0002',
  'a',
  'a\u0000',
  'ab',
  'b',
  '\u007f',
  '\u0080',
  '\u00ff',
  '\u0100',
  '路',
  '路口',
  '路口a',
  '鞍山',
  '\ud83d\ude00',
  '\ue000',
  '\uffff',
  '210302010313200001',
  { a: 1 },
  { a: '路' },
  [1, '路'],
  new ObjectId('650000000000000000000001'),
  new ObjectId('650000000000000000000002'),
  false,
  true,
  new Date(-1),
  new Date(0),
  new Date(1_700_000_000_000),
];

describe('embedded store key encoding', () => {
  it('when two values are encoded, then the encodings compare like the values (both directions)', () => {
    for (const a of values) {
      for (const b of values) {
        const want = sign(compareValues(a, b));
        const ea = encodeValue(a);
        const eb = encodeValue(b);
        expect(sign(ea < eb ? -1 : ea > eb ? 1 : 0), `${String(a)} vs ${String(b)}`).to.equal(want);
        const da = encodeField(a, -1);
        const db = encodeField(b, -1);
        expect(sign(da < db ? -1 : da > db ? 1 : 0), `desc ${String(a)} vs ${String(b)}`).to.equal(-want);
      }
    }
  });

  it('when any value is encoded, then the key is a one-byte string and no other encoding is a prefix of it', () => {
    const enc = values.map(encodeValue);
    for (const e of enc) for (let i = 0; i < e.length; i++) expect(e.charCodeAt(i)).to.be.at.most(0xff);
    enc.forEach((a, i) => enc.forEach((b, j) => {
      if (i !== j && a !== b) expect(b.startsWith(a), `${JSON.stringify(a)} prefix of ${JSON.stringify(b)}`).to.equal(false);
    }));
  });

  it('when a compound key is built, then the first field decides before the second', () => {
    const k = (x: unknown, y: unknown): string => encodeValue(x) + encodeValue(y);
    expect(k('路', 'z') < k('路口', 'a')).to.equal(true);
    expect(k('a', 9) < k('a\u0000', 1)).to.equal(true);
    expect(k('鞍山', '2') < k('鞍山', '3')).to.equal(true);
  });

  it('when the successor of a prefix is taken, then every key with the prefix sorts below it', () => {
    const p = encodeValue('路');
    const end = successor(p) as string;
    for (const suffix of ['', 'o65000', '\u00ff\u00ff', encodeValue('z')]) expect(p + suffix < end).to.equal(true);
    expect(encodeValue('路口') > end).to.equal(true);
    expect(successor('\u00ff\u00ff')).to.equal(undefined);
    expect(complement(complement(p))).to.equal(p);
  });
});
