/**
 * Standalone embedded store for outside clients (mongosh, scripts):
 * `npm run db -- --port 27017 --dbpath ./data/db [--host 127.0.0.1] [--auth [--user vigil] [--password-file F]]`.
 *
 * With `--auth` every connection must authenticate (SCRAM-SHA-256, user `admin.<user>`); the credential is
 * generated at the first start, or taken from --user/--password-file, and kept in `<dbpath>/credentials.json`
 * (mode 0600). Without it the store binds loopback only and says loudly that any local user can use it.
 * Prints the connection URI (without the password); SIGTERM/SIGINT close connections and storage cleanly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AUTH_DB, loadOrCreateCredential, type Credential } from './auth';
import { DataDirLockedError, startEmbeddedMongo } from './index';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function usage(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27017' },
      dbpath: { type: 'string', default: './data/db' },
      host: { type: 'string', default: '127.0.0.1' },
      auth: { type: 'boolean', default: false },
      user: { type: 'string' },
      'password-file': { type: 'string' },
      'ttl-interval-ms': { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`--port must be an integer 0-65535, got ${values.port}`);
  if (!values.auth && (values.user !== undefined || values['password-file'] !== undefined)) usage('--user and --password-file need --auth');
  if (!values.auth && !isLoopback(values.host)) usage(`--host ${values.host} is not a loopback address: start with --auth so that clients must authenticate`);
  const ttl = values['ttl-interval-ms'] === undefined ? undefined : Number(values['ttl-interval-ms']);
  const dbPath = path.resolve(values.dbpath);
  let auth: Credential | undefined;
  // read or written only once the store holds the data directory's lock: a second `npm run db` on the same
  // directory must not replace the credential of the running one
  const credential = (): Credential => {
    const given: Partial<Credential> = {};
    if (values.user !== undefined) given.user = values.user;
    if (values['password-file'] !== undefined) given.password = fs.readFileSync(values['password-file'], 'utf8').trim();
    const loaded = loadOrCreateCredential(dbPath, Object.keys(given).length ? given : undefined);
    auth = loaded.credential;
    process.stderr.write(
      `authentication on: user '${auth.user}' (authSource ${AUTH_DB}); ${loaded.created ? 'credential written to' : 'credential read from'} ${loaded.file} (mode 0600)\n`,
    );
    return auth;
  };
  const store = await startEmbeddedMongo({
    dbPath,
    host: values.host,
    port,
    ttlIntervalMs: ttl,
    auth: values.auth ? credential : undefined,
    log: (level, msg, fields) => {
      if (values.quiet && level !== 'error') return;
      process.stderr.write(`${new Date().toISOString()} ${level} ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}\n`);
    },
  });
  if (!auth) {
    process.stderr.write(
      `WARNING: authentication is OFF. Every local user and process that can open ${store.host}:${store.port} can read and ` +
        `write every database of this store (no credential is asked). Start it with --auth to require one.\n`,
    );
  }
  const uri = store.uri('');
  process.stdout.write(`${auth ? uri.replace('mongodb://', `mongodb://${encodeURIComponent(auth.user)}@`) + `?authSource=${AUTH_DB}` : uri}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: closing embedded store\n`);
    store.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof DataDirLockedError ? err.message : String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
