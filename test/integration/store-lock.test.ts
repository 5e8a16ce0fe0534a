import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { LockAnswer, LockRound } from '../fixtures/lock-child';
import { repoRoot } from '../helpers/process';

/** A pid that surely does not run any more (a child that has exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

/** A contender process (test/fixtures/lock-child.ts) and the answers it has sent and not yet been asked for. */
class Contender {
  readonly child: ChildProcess;
  private readonly answers: LockAnswer[] = [];
  private waiter: (() => void) | undefined;
  readonly exited: Promise<void>;
  private output = '';

  constructor() {
    this.child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(repoRoot, 'test/fixtures/lock-child.ts')], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stdout?.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
    this.child.stderr?.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
    this.child.on('message', (a: LockAnswer) => {
      this.answers.push(a);
      this.waiter?.();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    void this.exited.then(() => this.waiter?.());
  }

  /** The next answer, in order; rejects when the contender exits first or nothing comes in time. */
  async next(timeoutMs = 30_000): Promise<LockAnswer> {
    const end = Date.now() + timeoutMs;
    while (this.answers.length === 0) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`contender exited (${this.child.exitCode ?? this.child.signalCode}): ${this.output}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no answer from contender within ${timeoutMs} ms: ${this.output}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.answers.shift() as LockAnswer;
  }

  play(round: LockRound): void {
    this.child.send(round);
  }
}

describe('embedded store: the data-directory lock with a stale lock left behind (processes racing)', function () {
  this.timeout(180_000);

  it('when several processes start at the same instant over a stale lock, then exactly one wins, every round', async () => {
    const rounds = 4;
    const contenders = Array.from({ length: 5 }, () => new Contender());
    try {
      // each contender is a separate Node process, started once (tsx) and then played every round
      for (const c of contenders) expect((await c.next(60_000)).kind).to.equal('ready');
      for (let round = 0; round < rounds; round++) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-lock-'));
        try {
          fs.writeFileSync(path.join(dir, 'vigil-store.lock'), String(deadPid()));
          // far enough ahead for every contender to have the round and be spinning when it starts
          const startAt = Date.now() + 1000;
          for (const c of contenders) c.play({ dir, startAt, holdMs: 1500 });
          const answers = await Promise.all(contenders.map((c) => c.next()));
          const outcomes = answers.map((a) => a.kind);
          const what = `round ${round}: ${JSON.stringify(answers)}`;
          // the race really happened: every contender was waiting for the common start
          expect(answers.every((a) => (a.kind === 'won' || a.kind === 'locked') && a.lateMs <= 0), what).to.equal(true);
          // every winner releases before the directory is looked at (more than one winner fails below)
          for (const [i, a] of answers.entries()) if (a.kind === 'won') expect((await contenders[i].next()).kind, what).to.equal('released');
          expect(outcomes.filter((o) => o === 'won'), what).to.have.length(1);
          expect(outcomes.filter((o) => o === 'locked'), what).to.have.length(contenders.length - 1);
          // nothing is left behind but (at most) the lock itself, released by the winner
          expect(fs.readdirSync(dir)).to.deep.equal([]);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
    } finally {
      for (const c of contenders) if (c.child.connected) c.child.disconnect();
      await Promise.all(contenders.map((c) => Promise.race([c.exited, new Promise((r) => setTimeout(r, 5000))])));
      for (const c of contenders) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    }
  });
});
