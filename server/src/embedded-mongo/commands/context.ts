import type { ObjectId } from 'bson';
import type { Collection } from '../collection';
import { toNumber, type Doc } from '../compare';
import type { Engine } from '../engine';
import { CommandError } from '../errors';

export interface ServerInfo {
  readonly processId: ObjectId;
  readonly host: string;
  readonly port: number;
  readonly dbPath: string;
  readonly currentConnections: () => number;
  readonly totalConnections: () => number;
}

export interface CommandContext {
  engine: Engine;
  server: ServerInfo;
  db: string;
  cmd: Doc;
  connectionId: number;
  remote: string;
}

export type Handler = (ctx: CommandContext) => Doc;

/** The collection named by the command's first field (`{ find: 'cameras' }`). */
export function collectionName(ctx: CommandContext, field: string): string {
  const v = ctx.cmd[field];
  if (typeof v !== 'string' || v.length === 0) {
    throw new CommandError(73, 'InvalidNamespace', `collection name has invalid type ${typeof v}`);
  }
  return v;
}

export function optionalNumber(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = toNumber(v);
  if (Number.isNaN(n)) throw new CommandError(14, 'TypeMismatch', `Field '${name}' should be numeric`);
  return n;
}

export function optionalDoc(v: unknown, name: string): Doc | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new CommandError(14, 'TypeMismatch', `BSON field '${name}' is the wrong type, expected type 'object'`);
  return v as Doc;
}

/**
 * A hint must name an existing index (by name or key pattern) or be `{ $natural: ±1 }`; the planner still
 * chooses its own plan, which returns the same documents.
 */
export function checkHint(coll: Collection | undefined, hint: unknown): void {
  if (hint === undefined || hint === null || !coll) return;
  if (typeof hint === 'string') {
    if (coll.indexes.has(hint)) return;
  } else if (typeof hint === 'object' && !Array.isArray(hint)) {
    const keys = Object.keys(hint);
    if (keys.length === 0 || keys[0] === '$natural' || coll.findIndexByKey(hint as Doc)) return;
  }
  throw new CommandError(2, 'BadValue', 'hint provided does not correspond to an existing index');
}
