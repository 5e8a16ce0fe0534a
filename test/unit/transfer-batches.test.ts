import { expect } from 'chai';
import { Types } from 'mongoose';
import type { ImportChunkDoc, StagedRow } from '../../server/src/cameras/transfer/model';
import { applyBatchSize, stagedRowsOf } from '../../server/src/cameras/transfer/service';

describe('transfer: apply batch size', () => {
  it('when an import is large, then it is applied in batches of up to 5,000 rows, and small imports keep 1,000', () => {
    expect(applyBatchSize(100_000)).to.equal(5000);
    expect(applyBatchSize(1_000_000)).to.equal(5000);
    expect(applyBatchSize(50_000)).to.equal(2500);
    expect(applyBatchSize(20_000)).to.equal(1000);
    expect(applyBatchSize(5_400)).to.equal(1000);
    expect(applyBatchSize(1)).to.equal(1000);
  });
});

describe('transfer: staged chunks of an earlier version', () => {
  it('when a committed chunk holds its rows as an array (earlier versions) or as JSON text, then both give the same rows', () => {
    const rows: StagedRow[] = [{ line: 2, input: { gbCode: '21030200001320000001', name: '路口', regionId: 'r' } as StagedRow['input'], upstreamGbCode: null, outcome: 'created' }];
    const base = { _id: new Types.ObjectId(), jobId: new Types.ObjectId(), seq: 0, level: 0 };
    expect(stagedRowsOf({ ...base, rowsJson: JSON.stringify(rows) })).to.deep.equal(rows);
    expect(stagedRowsOf({ ...base, rows } as unknown as ImportChunkDoc)).to.deep.equal(rows);
  });
});
