import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/**
 * Headless Chromium for the end-to-end tests: Debian's /usr/bin/chromium (or CHROMIUM_PATH) through
 * playwright-core, no browser download; screenshots in test-artifacts/.
 */
const root = path.resolve(__dirname, '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const artifacts = path.join(root, 'test-artifacts');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** The server serves client/dist: build it when missing or older than the console's sources or the contracts. */
export function ensureClientBuilt(): void {
  const index = path.join(root, 'client', 'dist', 'index.html');
  const sources = Math.max(
    newestMtime(path.join(root, 'client', 'src')),
    newestMtime(path.join(root, 'server', 'src', 'contracts')),
    fs.statSync(path.join(root, 'client', 'index.html')).mtimeMs,
    fs.statSync(path.join(root, 'client', 'vite.config.mjs')).mtimeMs,
  );
  if (fs.existsSync(index) && fs.statSync(index).mtimeMs > sources) return;
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'client/vite.config.mjs', '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
  });
}

/** Builds the console if needed and starts Chromium; a missing browser is a failure, never a silent skip. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`e2e needs ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  ensureClientBuilt();
  fs.mkdirSync(artifacts, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', ...extraArgs],
  });
}
