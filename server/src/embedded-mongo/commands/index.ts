import { toNumber, type Doc } from '../compare';
import { CommandError } from '../errors';
import { adminCommands } from './admin';
import type { CommandContext, Handler } from './context';
import { ddlCommands } from './ddl';
import { readCommands } from './read';
import { writeCommands } from './write';

export type { CommandContext, ServerInfo } from './context';

const handlers: Record<string, Handler> = {
  ...adminCommands,
  ...readCommands,
  ...writeCommands,
  ...ddlCommands,
  listCommands: () => {
    const commands: Doc = {};
    for (const name of Object.keys(handlers).sort()) {
      commands[name] = { help: '', requiresAuth: false, secondaryOk: true, adminOnly: false, apiVersions: [], deprecatedApiVersions: [] };
    }
    return { commands, ok: 1 };
  },
};

/**
 * Write and read concerns a standalone mongod refuses (write_concern.cpp, read_concern_mongod.cpp): acknowledging
 * them would claim a replication that does not exist.
 */
function checkConcerns(cmd: Doc): void {
  const wc = cmd.writeConcern as Doc | undefined;
  if (wc && typeof wc === 'object') {
    const w = wc.w;
    if (typeof w === 'string' && w !== 'majority') {
      throw new CommandError(2, 'BadValue', `cannot use non-majority 'w' mode ${w} when a host is not a member of a replica set`);
    }
    if (w !== undefined && typeof w !== 'string' && toNumber(w) > 1) {
      throw new CommandError(2, 'BadValue', "cannot use 'w' > 1 when a host is not replicated");
    }
  }
  const rc = cmd.readConcern as Doc | undefined;
  if (rc && typeof rc === 'object') {
    if (rc.level === 'snapshot') throw new CommandError(123, 'NotAReplicaSet', 'node needs to be a replica set member to use readConcern: snapshot');
    if (rc.level === 'linearizable') throw new CommandError(123, 'NotAReplicaSet', 'node needs to be a replica set member to use read concern');
  }
}

/**
 * A collation other than `simple` changes how strings compare (case, accents, numeric ordering): the store
 * compares binary only, so answering would give other documents than mongod without an error. Refused where a
 * command, a write statement or an index spec carries one.
 */
function checkCollation(cmd: Doc): void {
  const refuse = (c: unknown): void => {
    if (c === undefined || c === null) return;
    if (typeof c !== 'object' || Array.isArray(c)) throw new CommandError(14, 'TypeMismatch', "BSON field 'collation' is the wrong type, expected type 'object'");
    if ((c as Doc).locale !== 'simple') {
      throw new CommandError(238, 'NotImplemented', "collation other than { locale: 'simple' } is not supported by the embedded store (strings compare by binary value only)");
    }
  };
  refuse(cmd.collation);
  for (const list of [cmd.updates, cmd.deletes, cmd.indexes]) {
    if (Array.isArray(list)) for (const item of list) if (item && typeof item === 'object') refuse((item as Doc).collation);
  }
}

export function commandName(cmd: Doc): string {
  return Object.keys(cmd)[0] ?? '';
}

/** Runs one command and returns mongod's reply document (errors become `{ ok: 0, ... }`, never thrown). */
export function runCommand(ctx: CommandContext, log: (msg: string, fields: Record<string, unknown>) => void): Doc {
  const name = commandName(ctx.cmd);
  try {
    if (ctx.cmd.txnNumber !== undefined || ctx.cmd.startTransaction !== undefined || ctx.cmd.autocommit !== undefined) {
      throw new CommandError(20, 'IllegalOperation', 'Transaction numbers are only allowed on a replica set member or mongos');
    }
    checkConcerns(ctx.cmd);
    checkCollation(ctx.cmd);
    const handler = Object.prototype.hasOwnProperty.call(handlers, name) ? handlers[name] : undefined;
    if (!handler) throw new CommandError(59, 'CommandNotFound', `no such command: '${name}'`);
    return handler(ctx);
  } catch (err) {
    if (err instanceof CommandError) return err.toReply();
    log('command failed unexpectedly', { command: name, error: (err as Error).stack ?? String(err) });
    return { ok: 0, errmsg: (err as Error).message ?? String(err), code: 1, codeName: 'InternalError' };
  }
}
