'use strict';
// Mocha's spec reporter plus one plain closing line "N passed, N failed, N skipped" that CI reads.
// With VIGIL_TEST_TIMES=FILE it also writes each test file's wall time (hooks included) as JSON to FILE,
// slowest first (serial runs only: in --parallel mode events arrive per file after the fact).
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const timesFile = process.env.VIGIL_TEST_TIMES;
    const perFile = new Map();
    if (timesFile) {
      const started = new Map();
      runner.on('suite', (suite) => {
        if (suite.parent && suite.parent.root && suite.file) started.set(suite, Date.now());
      });
      runner.on('suite end', (suite) => {
        const t0 = started.get(suite);
        if (t0 === undefined) return;
        const f = path.relative(process.cwd(), suite.file);
        const cur = perFile.get(f) || { ms: 0, tests: 0 };
        cur.ms += Date.now() - t0;
        cur.tests += suite.total();
        perFile.set(f, cur);
      });
    }
    runner.once('end', () => {
      const s = runner.stats || {};
      if (timesFile) {
        const rows = [...perFile].map(([file, v]) => ({ file, ms: v.ms, tests: v.tests })).sort((a, b) => b.ms - a.ms);
        fs.writeFileSync(timesFile, JSON.stringify({ totalMs: s.duration, files: rows }, null, 2));
      }
      process.stdout.write(`\nmocha: ${s.passes || 0} passed, ${s.failures || 0} failed, ${s.pending || 0} skipped\n`);
    });
  }
}

module.exports = SpecWithSummary;
