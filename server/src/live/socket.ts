import type { Namespace, Server, Socket } from 'socket.io';
import type { Principal } from '../contracts/access';
import { can } from '../contracts/access';
import {
  LIVE_NAMESPACE,
  subscribeRequestSchema,
  unsubscribeRequestSchema,
  type Ack,
  type ClientToServerEvents,
  type LiveErrorCode,
  type ServerToClientEvents,
} from '../contracts/live';
import { AppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import type { MonitoringLoad } from '../contracts/monitoring';
import { viewerOf } from '../auth/scope';
import type { LiveHub, Room } from './hub';
import type { RegionTree } from '../regions/tree';

export interface LiveSocketData {
  principal?: Principal;
  /** regionId → the hub room this socket watches. */
  liveRooms?: Map<string, Room>;
}

export type LiveNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, LiveSocketData>;
export type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, LiveSocketData>;

export type SocketMiddleware = (socket: LiveSocket, next: (err?: Error) => void) => void;

export interface LiveSocketDeps {
  /** Authenticates the handshake once and sets socket.data.principal (the auth capability's socketAuth). */
  authenticate: SocketMiddleware;
  /** Throws AppError (not_found / forbidden) when the principal may not watch that region's subtree. */
  assertCanSubscribe(principal: Principal, regionId: string, regions: RegionTree): void;
  /** Resolves once the hot index is loaded (and fresh enough); the hub it returns is current. */
  ready(): Promise<LiveHub>;
  /** The polling engine's load now (sent to each console at connection; changes go to LOAD_ROOM). */
  currentLoad?: () => MonitoringLoad;
  logger: Logger;
}

/** Every socket allowed to read status joins this room: the engine's load is the same for everyone. */
export const LOAD_ROOM = 'monitoring:load';

/** Socket.IO only reports `Error`s to the client's connect_error; keep the message safe to show. */
const appCodes: Record<string, LiveErrorCode> = {
  bad_request: 'bad_request',
  validation_failed: 'bad_request',
  unauthenticated: 'unauthenticated',
  forbidden: 'forbidden',
  not_found: 'not_found',
  unavailable: 'unavailable',
  rate_limited: 'rate_limited',
};

/** A snapshot can be megabytes: a socket may ask for this many per window, then gets rate_limited. */
const SUBSCRIBES_PER_WINDOW = 20;
const SUBSCRIBE_WINDOW_MS = 10_000;

function failure(err: unknown, logger: Logger): Ack<never> {
  if (err instanceof AppError) return { ok: false, error: { code: appCodes[err.code] ?? 'internal', message: err.message } };
  logger.error('live handler failed', { err });
  return { ok: false, error: { code: 'internal', message: 'internal error' } };
}

function zodFailure(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>, what: string): Ack<never> {
  const first = issues[0];
  const field = first?.path.length ? first.path.map(String).join('.') : what;
  return { ok: false, error: { code: 'bad_request', message: `invalid ${what}: ${field}: ${first?.message ?? 'malformed'}` } };
}

/** Wires namespace `/live`: authentication at connection, zod-validated subscribe/unsubscribe with acks. */
export function attachLiveNamespace(io: Server, deps: LiveSocketDeps): LiveNamespace {
  const nsp = io.of(LIVE_NAMESPACE) as unknown as LiveNamespace;
  nsp.use(deps.authenticate);

  nsp.on('connection', (socket) => {
    const rooms = new Map<string, Room>();
    socket.data.liveRooms = rooms;
    let hubOfRooms: LiveHub | null = null;
    const principal = socket.data.principal;
    if (deps.currentLoad && principal && can(principal, 'status:read')) {
      void socket.join(LOAD_ROOM);
      socket.emit('monitoring:load', deps.currentLoad());
    }

    const leaveAll = (): void => {
      for (const room of rooms.values()) {
        void socket.leave(room.name);
        hubOfRooms?.leave(room);
      }
      rooms.clear();
    };

    let windowStart = 0;
    let windowCount = 0;
    socket.on('subscribe', (raw: unknown, ack: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (r: Ack<unknown>) => void) : () => undefined;
      const now = Date.now();
      if (now - windowStart > SUBSCRIBE_WINDOW_MS) {
        windowStart = now;
        windowCount = 0;
      }
      if (++windowCount > SUBSCRIBES_PER_WINDOW) {
        reply({ ok: false, error: { code: 'rate_limited', message: `at most ${SUBSCRIBES_PER_WINDOW} subscribes per ${SUBSCRIBE_WINDOW_MS / 1000} s` } });
        return;
      }
      const parsed = subscribeRequestSchema.safeParse(raw);
      if (!parsed.success) {
        reply(zodFailure(parsed.error.issues, 'subscribe'));
        return;
      }
      const req = parsed.data;
      deps
        .ready()
        .then((hub) => {
          const principal = socket.data.principal;
          if (!principal) throw new AppError('unauthenticated', 'authentication required');
          if (!can(principal, 'status:read')) throw new AppError('forbidden', `role ${principal.role} may not watch status`);
          if (!socket.connected) return;
          deps.assertCanSubscribe(principal, req.regionId, hub.regions);
          if (hubOfRooms !== hub) {
            // the hub was rebuilt since this socket joined: its old rooms are gone
            rooms.clear();
            hubOfRooms = hub;
          }
          const existing = rooms.get(req.regionId);
          const room = existing ?? hub.join(req.regionId, viewerOf(principal));
          if (!existing) {
            rooms.set(req.regionId, room);
            void socket.join(room.name);
          }
          // join + state in the same tick: every batch after this state reaches the socket
          reply({ ok: true, data: hub.stateFor(room, req.lastSeq, req.epoch) });
        })
        .catch((err: unknown) => reply(failure(err, deps.logger)));
    });

    socket.on('unsubscribe', (raw: unknown, ack: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (r: Ack<unknown>) => void) : () => undefined;
      const parsed = unsubscribeRequestSchema.safeParse(raw);
      if (!parsed.success) {
        reply(zodFailure(parsed.error.issues, 'unsubscribe'));
        return;
      }
      const room = rooms.get(parsed.data.regionId);
      if (room) {
        rooms.delete(parsed.data.regionId);
        void socket.leave(room.name);
        hubOfRooms?.leave(room);
      }
      reply({ ok: true, data: { regionId: parsed.data.regionId } });
    });

    socket.on('disconnect', leaveAll);
  });
  return nsp;
}
