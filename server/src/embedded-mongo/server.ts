/**
 * Socket front end (TCP, or a Unix domain socket for the app's own store): frames messages, dispatches
 * commands, answers OP_MSG with OP_MSG and the legacy OP_QUERY handshake with OP_REPLY. Awaitable hello
 * (the driver's streaming monitor) is answered after maxAwaitTimeMS and, when the client allowed exhaust,
 * keeps answering with moreToCome set, as mongod does.
 *
 * Whatever a client sends, only its own connection can suffer: a frame that cannot be read (bad length,
 * section, BSON; see ProtocolError) closes that connection with one log line, a command that fails is an
 * error reply, a reply that cannot be encoded is that command's error reply. Nothing is thrown out of a
 * socket listener, which would end the store's thread or the standalone process.
 */
import fs from 'node:fs';
import net from 'node:net';
import { ObjectId } from 'bson';
import type { ConnectionAuth, ScramAuthenticator } from './auth';
import type { Doc } from './compare';
import { toNumber } from './compare';
import { commandName, runCommand, type ServerInfo } from './commands';
import type { Engine } from './engine';
import { CommandError } from './errors';
import {
  encodeOpMsg,
  encodeOpReply,
  FLAG_EXHAUST_ALLOWED,
  FLAG_MORE_TO_COME,
  FrameReader,
  OP_QUERY,
  parseMessage,
  ProtocolError,
  type IncomingMessage,
} from './wire';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Where the server listens: a TCP host and port, or a Unix domain socket file (mode 0600). */
export type ListenAddress = { host: string; port: number } | { socketPath: string };

/** One client connection and its state. */
interface Connection {
  readonly id: number;
  readonly socket: net.Socket;
  readonly remote: string;
  readonly reader: FrameReader;
  readonly auth: ConnectionAuth;
  exhaustTimer?: NodeJS.Timeout;
}

export class WireServer {
  private readonly server = net.createServer((s) => this.accept(s));
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;
  private nextRequestId = 1;
  private totalConnections = 0;
  private socketPath?: string;
  readonly processId = new ObjectId();
  info!: ServerInfo;

  constructor(
    private readonly engine: Engine,
    private readonly dbPath: string,
    private readonly log: Log,
    /** When set, every connection must authenticate (SCRAM-SHA-256) before it may run commands. */
    private readonly authenticator?: ScramAuthenticator,
  ) {}

  listen(where: ListenAddress): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const ready = (): void => {
        this.server.off('error', reject);
        let bound: ListenAddress;
        if ('socketPath' in where) {
          // only this user may connect (the directory is private too: see index.ts)
          fs.chmodSync(where.socketPath, 0o600);
          this.socketPath = where.socketPath;
          bound = { socketPath: where.socketPath };
        } else {
          bound = { host: where.host, port: (this.server.address() as net.AddressInfo).port };
        }
        this.info = {
          processId: this.processId,
          host: 'socketPath' in bound ? bound.socketPath : bound.host,
          port: 'socketPath' in bound ? 0 : bound.port,
          dbPath: this.dbPath,
          currentConnections: () => this.connections.size,
          totalConnections: () => this.totalConnections,
        };
        resolve(bound);
      };
      if ('socketPath' in where) this.server.listen({ path: where.socketPath, readableAll: false, writableAll: false }, ready);
      else this.server.listen(where.port, where.host, ready);
    });
  }

  private accept(socket: net.Socket): void {
    const conn: Connection = {
      id: this.nextConnectionId++,
      socket,
      remote: this.socketPath ? 'unix' : `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`,
      reader: new FrameReader(),
      auth: {},
    };
    this.totalConnections++;
    this.connections.add(conn);
    if (!this.socketPath) socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.onFrames(conn, conn.reader.push(chunk));
      } catch (err) {
        this.drop(conn, err instanceof ProtocolError ? 'closing connection after a malformed message' : 'closing connection after an internal error', err);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.stopExhaust(conn);
      this.connections.delete(conn);
    });
  }

  private drop(conn: Connection, why: string, err: unknown): void {
    if (conn.socket.destroyed) return;
    this.log('warn', why, { connectionId: conn.id, remote: conn.remote, error: err instanceof Error ? err.message : String(err) });
    conn.socket.destroy();
  }

  private stopExhaust(conn: Connection): void {
    if (conn.exhaustTimer) {
      clearTimeout(conn.exhaustTimer);
      conn.exhaustTimer = undefined;
    }
  }

  private onFrames(conn: Connection, frames: Buffer[]): void {
    for (const frame of frames) {
      if (conn.socket.destroyed) return;
      const msg = parseMessage(frame);
      this.stopExhaust(conn);
      const awaitMs = msg.refused ? undefined : this.awaitableHello(msg);
      if (awaitMs !== undefined) {
        this.streamHello(conn, msg, awaitMs);
        continue;
      }
      const reply = msg.refused ? msg.refused.toReply() : this.execute(msg, conn);
      if (msg.opCode === OP_QUERY || !(msg.flags & FLAG_MORE_TO_COME)) conn.socket.write(this.encode(msg, this.nextRequestId++, msg.requestId, 0, reply));
    }
  }

  /** Answers an awaitable hello after `awaitMs`, and again every `awaitMs` while the client allows exhaust. */
  private streamHello(conn: Connection, msg: IncomingMessage, awaitMs: number): void {
    const exhaust = (msg.flags & FLAG_EXHAUST_ALLOWED) !== 0;
    let responseTo = msg.requestId;
    const tick = (): void => {
      conn.exhaustTimer = undefined;
      if (conn.socket.destroyed) return;
      try {
        const requestId = this.nextRequestId++;
        conn.socket.write(this.encode(msg, requestId, responseTo, exhaust ? FLAG_MORE_TO_COME : 0, this.execute(msg, conn)));
        if (exhaust) {
          responseTo = requestId;
          conn.exhaustTimer = setTimeout(tick, awaitMs);
        }
      } catch (err) {
        this.drop(conn, 'closing connection after an internal error', err);
      }
    };
    conn.exhaustTimer = setTimeout(tick, awaitMs);
  }

  /**
   * The reply as a message; a reply that cannot be encoded (a document an aggregation built over the BSON
   * limit: 10334, as mongod answers) becomes that command's error reply, and the cursor it opened is closed.
   */
  private encode(msg: IncomingMessage, requestId: number, responseTo: number, flags: number, reply: Doc): Buffer {
    const encodeAs = (body: Doc): Buffer =>
      msg.opCode === OP_QUERY ? encodeOpReply(requestId, responseTo, body) : encodeOpMsg(requestId, responseTo, flags, body);
    try {
      return encodeAs(reply);
    } catch (err) {
      const cursorId = (reply.cursor as Doc | undefined)?.id;
      const id = cursorId === undefined ? 0 : toNumber(cursorId);
      if (id) this.engine.cursors.kill([id]);
      if (err instanceof CommandError) return encodeAs(err.toReply());
      this.log('error', 'reply could not be encoded', { command: commandName(msg.command), error: (err as Error).stack ?? String(err) });
      return encodeAs({ ok: 0, errmsg: 'reply could not be encoded', code: 1, codeName: 'InternalError' });
    }
  }

  /** maxAwaitTimeMS of a streaming hello (one that carries the topologyVersion we gave), else undefined. */
  private awaitableHello(msg: IncomingMessage): number | undefined {
    const name = commandName(msg.command);
    if (name !== 'hello' && name !== 'isMaster' && name !== 'ismaster') return undefined;
    const tv = msg.command.topologyVersion as Doc | undefined;
    if (msg.command.maxAwaitTimeMS === undefined || !tv) return undefined;
    const ms = toNumber(msg.command.maxAwaitTimeMS);
    return Number.isFinite(ms) ? Math.max(0, Math.min(ms, 60_000)) : undefined;
  }

  private execute(msg: IncomingMessage, conn: Connection): Doc {
    let db = typeof msg.command.$db === 'string' ? msg.command.$db : 'admin';
    if (msg.opCode === OP_QUERY) {
      const ns = msg.queryNs ?? '';
      if (!ns.endsWith('.$cmd')) {
        return { $err: 'OP_QUERY is no longer supported except for the hello handshake', code: 352, ok: 0 };
      }
      db = ns.slice(0, -'.$cmd'.length);
    }
    const name = commandName(msg.command);
    const auth = this.authenticator;
    if (auth) {
      try {
        auth.check(name, conn.auth);
        const sasl = auth.handle(name, msg.command, db, conn.auth);
        if (sasl) return sasl;
      } catch (err) {
        if (err instanceof CommandError) return err.toReply();
        throw err;
      }
    }
    const reply = runCommand({ engine: this.engine, server: this.info, db, cmd: msg.command, connectionId: conn.id, remote: conn.remote }, (m, f) =>
      this.log('error', m, f),
    );
    if (auth && msg.command.saslSupportedMechs !== undefined && reply.ok === 1) {
      const mechs = auth.mechanismsFor(msg.command.saslSupportedMechs);
      if (mechs) reply.saslSupportedMechs = mechs;
    }
    return reply;
  }

  close(): Promise<void> {
    for (const c of this.connections) {
      this.stopExhaust(c);
      c.socket.destroy();
    }
    // net removes the Unix socket file on close; one a crash left behind is removed before the next listen
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
