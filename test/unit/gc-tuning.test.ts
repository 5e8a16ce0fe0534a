import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../../server/src/config';
import { repoRoot } from '../helpers/process';

/** Scavenges after the child's marker (three full collections in a row): their helper threads' time in ms. */
function helperTimes(parallel: string | undefined): number[] {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (parallel === undefined) delete env.GC_PARALLEL_SCAVENGE;
  else env.GC_PARALLEL_SCAVENGE = parallel;
  const r = spawnSync(process.execPath, ['--expose-gc', '--trace-gc-nvp', '--require', 'tsx/cjs', path.join(repoRoot, 'test/fixtures/gc-scavenge-child.ts')], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(r.status, r.stderr).to.equal(0);
  const lines = r.stdout.split('\n').filter((l) => / gc=/.test(l));
  const kind = (l: string): string => (/ gc=(\w+)/.exec(l) as RegExpExecArray)[1];
  let start = -1;
  for (let i = 2; i < lines.length && start < 0; i++) if (kind(lines[i - 2]) === 'mc' && kind(lines[i - 1]) === 'mc' && kind(lines[i]) === 'mc') start = i + 1;
  expect(start, 'marker (three full collections) not found').to.be.greaterThan(0);
  return lines
    .slice(start)
    .filter((l) => kind(l) === 's')
    .map((l) => Number((/background\.scavenge\.parallel=([\d.]+)/.exec(l) as RegExpExecArray)[1]));
}

describe('GC tuning (lib/runtime.ts)', function () {
  this.timeout(60_000);

  it('when GC_PARALLEL_SCAVENGE is unset, then scavenges run on the allocating thread alone; =true gives V8 its helpers back', () => {
    expect(loadConfig({}).GC_PARALLEL_SCAVENGE).to.equal(false);
    const off = helperTimes(undefined);
    expect(off.length).to.be.greaterThan(10);
    expect(off.every((ms) => ms === 0)).to.equal(true);
    const on = helperTimes('true');
    expect(on.length).to.be.greaterThan(10);
    expect(on.some((ms) => ms > 0)).to.equal(true);
  });
});
