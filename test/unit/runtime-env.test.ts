import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { MALLOC_ENV, missingMallocEnv } from '../../server/src/lib/runtime';
import { repoRoot } from '../helpers/process';

describe('process environment of the server and the store (lib/runtime.ts)', () => {
  it('when Vigil is started with npm start or npm run db, then glibc gets the malloc settings lib/runtime.ts names', () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['start', 'db']) {
      for (const [k, v] of Object.entries(MALLOC_ENV)) expect(scripts[name], `npm run ${name}`).to.match(new RegExp(`(^|&& |\\s)${k}=${v} node `));
    }
  });

  it('when a Linux process lacks a setting, then it is named (other systems have no glibc to tell)', () => {
    expect(missingMallocEnv({}, 'linux')).to.deep.equal(Object.keys(MALLOC_ENV));
    expect(missingMallocEnv({ ...MALLOC_ENV }, 'linux')).to.deep.equal([]);
    expect(missingMallocEnv({}, 'darwin')).to.deep.equal([]);
  });
});
