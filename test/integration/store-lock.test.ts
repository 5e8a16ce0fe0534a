import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { runTs } from '../helpers/process';

/** A pid that surely does not run any more (a child that has exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('embedded store: the data-directory lock with a stale lock left behind (processes racing)', function () {
  this.timeout(180_000);

  it('when several processes start at the same instant over a stale lock, then exactly one wins, every round', async () => {
    const rounds = 4;
    const contenders = 5;
    for (let round = 0; round < rounds; round++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-lock-'));
      try {
        fs.writeFileSync(path.join(dir, 'vigil-store.lock'), String(deadPid()));
        // far enough ahead for every child to have started (tsx) and be spinning
        const startAt = Date.now() + 4000;
        const children = Array.from({ length: contenders }, () => runTs('test/fixtures/lock-child.ts', [dir, String(startAt), '1500'], {}));
        await Promise.all(children.map((c) => c.exited));
        const outcomes = children.map((c) => c.output().trim().split(' ')[0]);
        expect(outcomes.filter((o) => o === 'won'), `round ${round}: ${outcomes.join(',')}`).to.have.length(1);
        expect(outcomes.filter((o) => o === 'locked'), `round ${round}: ${outcomes.join(',')}`).to.have.length(contenders - 1);
        // nothing is left behind but (at most) the lock itself, released by the winner
        expect(fs.readdirSync(dir)).to.deep.equal([]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
