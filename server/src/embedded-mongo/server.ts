/**
 * TCP front end: frames messages, dispatches commands, answers OP_MSG with OP_MSG and the legacy OP_QUERY
 * handshake with OP_REPLY. Awaitable hello (the driver's streaming monitor) is answered after
 * maxAwaitTimeMS and, when the client allowed exhaust, keeps answering with moreToCome set, as mongod does.
 */
import net from 'node:net';
import { ObjectId } from 'bson';
import type { Doc } from './compare';
import { toNumber } from './compare';
import { commandName, runCommand, type ServerInfo } from './commands';
import type { Engine } from './engine';
import {
  encodeOpMsg,
  encodeOpReply,
  FLAG_EXHAUST_ALLOWED,
  FLAG_MORE_TO_COME,
  FrameReader,
  OP_QUERY,
  parseMessage,
  type IncomingMessage,
} from './wire';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export class WireServer {
  private readonly server = net.createServer((s) => this.accept(s));
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private nextConnectionId = 1;
  private nextRequestId = 1;
  private totalConnections = 0;
  readonly processId = new ObjectId();
  info!: ServerInfo;

  constructor(
    private readonly engine: Engine,
    private readonly dbPath: string,
    private readonly log: Log,
  ) {}

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address() as net.AddressInfo;
        this.info = {
          processId: this.processId,
          host,
          port: addr.port,
          dbPath: this.dbPath,
          currentConnections: () => this.sockets.size,
          totalConnections: () => this.totalConnections,
        };
        resolve({ host, port: addr.port });
      });
    });
  }

  private accept(socket: net.Socket): void {
    const connectionId = this.nextConnectionId++;
    this.totalConnections++;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const reader = new FrameReader();
    const remote = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
    let exhaustTimer: NodeJS.Timeout | undefined;
    const stopExhaust = (): void => {
      if (exhaustTimer) {
        clearTimeout(exhaustTimer);
        this.timers.delete(exhaustTimer);
        exhaustTimer = undefined;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        this.log('warn', 'closing connection after a malformed message', { connectionId, error: (err as Error).message });
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        let msg: IncomingMessage;
        try {
          msg = parseMessage(frame);
        } catch (err) {
          this.log('warn', 'closing connection after an unparsable message', { connectionId, error: (err as Error).message });
          socket.destroy();
          return;
        }
        stopExhaust();
        const awaitMs = this.awaitableHello(msg);
        if (awaitMs !== undefined) {
          const exhaust = (msg.flags & FLAG_EXHAUST_ALLOWED) !== 0;
          let responseTo = msg.requestId;
          const tick = (): void => {
            this.timers.delete(exhaustTimer!);
            exhaustTimer = undefined;
            if (socket.destroyed) return;
            const reply = this.execute(msg, connectionId, remote);
            const requestId = this.nextRequestId++;
            socket.write(encodeOpMsg(requestId, responseTo, exhaust ? FLAG_MORE_TO_COME : 0, reply));
            if (exhaust) {
              responseTo = requestId;
              exhaustTimer = setTimeout(tick, awaitMs);
              this.timers.add(exhaustTimer);
            }
          };
          exhaustTimer = setTimeout(tick, awaitMs);
          this.timers.add(exhaustTimer);
          continue;
        }
        const reply = this.execute(msg, connectionId, remote);
        if (msg.opCode === OP_QUERY) {
          socket.write(encodeOpReply(this.nextRequestId++, msg.requestId, reply));
        } else if (!(msg.flags & FLAG_MORE_TO_COME)) {
          socket.write(encodeOpMsg(this.nextRequestId++, msg.requestId, 0, reply));
        }
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      stopExhaust();
      this.sockets.delete(socket);
    });
  }

  /** maxAwaitTimeMS of a streaming hello (one that carries the topologyVersion we gave), else undefined. */
  private awaitableHello(msg: IncomingMessage): number | undefined {
    const name = commandName(msg.command);
    if (name !== 'hello' && name !== 'isMaster' && name !== 'ismaster') return undefined;
    const tv = msg.command.topologyVersion as Doc | undefined;
    if (msg.command.maxAwaitTimeMS === undefined || !tv) return undefined;
    return Math.max(0, Math.min(toNumber(msg.command.maxAwaitTimeMS), 60_000));
  }

  private execute(msg: IncomingMessage, connectionId: number, remote: string): Doc {
    let db = typeof msg.command.$db === 'string' ? msg.command.$db : 'admin';
    if (msg.opCode === OP_QUERY) {
      const ns = msg.queryNs ?? '';
      if (!ns.endsWith('.$cmd')) {
        return { $err: 'OP_QUERY is no longer supported except for the hello handshake', code: 352, ok: 0 };
      }
      db = ns.slice(0, -'.$cmd'.length);
    }
    return runCommand({ engine: this.engine, server: this.info, db, cmd: msg.command, connectionId, remote }, (m, f) =>
      this.log('error', m, f),
    );
  }

  close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
