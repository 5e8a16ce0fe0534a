/**
 * The embedded MongoDB-wire-compatible store. PLACEHOLDER INTERFACE — being implemented.
 */
export interface EmbeddedMongoOptions {
  /** Directory holding the data files; created if missing. Locked against a second server. */
  dbPath: string;
  /** Loopback by default. */
  host?: string;
  /** 0 = a free port. */
  port?: number;
  /** Optional log sink for diagnostics. */
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export interface EmbeddedMongo {
  readonly host: string;
  readonly port: number;
  /** `mongodb://host:port/<db>` suitable for the mongodb driver and mongoose. */
  uri(dbName?: string): string;
  /** Stops accepting connections, closes open ones, flushes and closes storage, releases the lock. */
  close(): Promise<void>;
}

export function startEmbeddedMongo(_opts: EmbeddedMongoOptions): Promise<EmbeddedMongo> {
  return Promise.reject(new Error('embedded store not implemented yet'));
}
