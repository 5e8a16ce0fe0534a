import type { Doc } from '../compare';
import { CommandError } from '../errors';
import { adminCommands } from './admin';
import type { CommandContext, Handler } from './context';
import { ddlCommands } from './ddl';
import { readCommands } from './read';
import { writeCommands } from './write';

export type { CommandContext, ServerInfo } from './context';

const handlers: Record<string, Handler> = { ...adminCommands, ...readCommands, ...writeCommands, ...ddlCommands };

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
    const handler = Object.prototype.hasOwnProperty.call(handlers, name) ? handlers[name] : undefined;
    if (!handler) throw new CommandError(59, 'CommandNotFound', `no such command: '${name}'`);
    return handler(ctx);
  } catch (err) {
    if (err instanceof CommandError) return err.toReply();
    log('command failed unexpectedly', { command: name, error: (err as Error).stack ?? String(err) });
    return { ok: 0, errmsg: (err as Error).message ?? String(err), code: 1, codeName: 'InternalError' };
  }
}
