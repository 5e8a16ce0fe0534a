'use strict';
/**
 * Runs the static checks of `npm test` side by side: each argument is one shell command (tsc, vue-tsc,
 * eslint, the OpenAPI lint). They are independent and each is single-threaded, so on a machine with N cores
 * N of them run at once, in the order given (longest first keeps the tail short). Each command's output is
 * held and printed in one block when it ends, so blocks never interleave; the exit code is 1 when any
 * command failed (all are still run, so one run reports every failure).
 *
 *   node test/helpers/checks.js 'tsc --noEmit -p .' 'eslint --max-warnings 0 .' ...
 *
 * VIGIL_CHECK_JOBS overrides the number run at once (1 = one after the other, as before).
 */
const { spawn } = require('node:child_process');
const os = require('node:os');

const commands = process.argv.slice(2);
const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
const jobs = Math.max(1, Number(process.env.VIGIL_CHECK_JOBS) || cores);

function run(command) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (d) => chunks.push(d));
    child.stderr.on('data', (d) => chunks.push(d));
    child.on('error', (err) => chunks.push(Buffer.from(`${String(err)}\n`)));
    child.on('close', (code, signal) => {
      const ok = code === 0;
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      const out = Buffer.concat(chunks).toString('utf8');
      process.stdout.write(`check: ${command} — ${ok ? 'ok' : `FAILED (${code ?? signal})`} in ${secs} s\n${out}${out && !out.endsWith('\n') ? '\n' : ''}`);
      resolve(ok);
    });
  });
}

async function main() {
  const queue = [...commands];
  let failed = 0;
  const lane = async () => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) if (!(await run(c))) failed += 1;
  };
  await Promise.all(Array.from({ length: Math.min(jobs, commands.length) }, lane));
  if (failed > 0) {
    process.stdout.write(`check: ${failed} of ${commands.length} static checks failed\n`);
    process.exitCode = 1;
  }
}

void main();
