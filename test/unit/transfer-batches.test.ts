import { expect } from 'chai';
import { applyBatchSize } from '../../server/src/cameras/transfer/service';

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
