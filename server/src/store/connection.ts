import path from 'node:path';
import mongoose from 'mongoose';
import type { Config } from '../config';
import { startEmbeddedMongo, type EmbeddedMongoOptions } from '../embedded-mongo';
import { startEmbeddedMongoThread } from '../embedded-mongo/thread';
import type { Logger } from '../lib/logger';

export interface Store {
  /** A dedicated mongoose connection (no global singleton: tests boot several apps in one process). */
  conn: mongoose.Connection;
  /** True when this process runs the embedded store. */
  embedded: boolean;
  /** URI without credentials, for logs. */
  displayUri: string;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

function redact(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}

/** The Unix socket the in-process store listens on, inside its private data directory. */
export function embeddedSocketPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'db', 'store.sock');
}

/**
 * MONGODB_URI when set; otherwise starts the embedded store under DATA_DIR/db, listening on a Unix domain
 * socket there (DATA_DIR/db/store.sock): the directory is 0700 and the socket 0600, so only this user can
 * reach the store (no TCP port another local user could connect to).
 */
export async function openStore(config: Config, logger: Logger): Promise<Store> {
  let embedded: { uri(db?: string): string; close(): Promise<void> } | undefined;
  let uri = config.MONGODB_URI;
  if (!uri) {
    const log = logger.child({ component: 'embedded-mongo' });
    const opts = {
      dbPath: path.join(config.DATA_DIR, 'db'),
      socketPath: embeddedSocketPath(config.DATA_DIR),
      log: ((level, msg, fields) => log[level](msg, fields)) satisfies EmbeddedMongoOptions['log'],
    };
    embedded = config.EMBEDDED_STORE_THREAD
      ? await startEmbeddedMongoThread({
          ...opts,
          onCrash: (err) => {
            // every request would fail from here on: exit, so the supervisor restarts us (nothing
            // acknowledged is lost: the store's writes are durable before they are acknowledged)
            log.error('embedded store thread died', { err });
            process.exit(1);
          },
        })
      : await startEmbeddedMongo(opts);
    uri = embedded.uri(config.EMBEDDED_DB_NAME);
  }
  const conn = mongoose.createConnection(uri, { serverSelectionTimeoutMS: 10_000, autoIndex: true });
  try {
    await conn.asPromise();
  } catch (err) {
    await embedded?.close();
    throw err;
  }
  logger.info('store connected', { uri: redact(uri), embedded: Boolean(embedded) });
  return {
    conn,
    embedded: Boolean(embedded),
    displayUri: redact(uri),
    async ping() {
      try {
        const db = conn.db;
        if (!db) return false;
        await db.command({ ping: 1 });
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await conn.close();
      await embedded?.close();
    },
  };
}
