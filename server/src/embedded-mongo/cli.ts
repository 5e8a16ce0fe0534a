/**
 * Standalone embedded store: `npm run db -- --port 27017 --dbpath ./data/db [--host 127.0.0.1]`.
 * Prints the connection URI; SIGTERM/SIGINT close connections and storage cleanly.
 */
import { parseArgs } from 'node:util';
import { DataDirLockedError, startEmbeddedMongo } from './index';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27017' },
      dbpath: { type: 'string', default: './data/db' },
      host: { type: 'string', default: '127.0.0.1' },
      'ttl-interval-ms': { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be an integer 0-65535, got ${values.port}\n`);
    process.exit(2);
  }
  const ttl = values['ttl-interval-ms'] === undefined ? undefined : Number(values['ttl-interval-ms']);
  const store = await startEmbeddedMongo({
    dbPath: values.dbpath,
    host: values.host,
    port,
    ttlIntervalMs: ttl,
    log: (level, msg, fields) => {
      if (values.quiet && level !== 'error') return;
      process.stderr.write(`${new Date().toISOString()} ${level} ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}\n`);
    },
  });
  process.stdout.write(`${store.uri('')}\n`);
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
