/**
 * find projections. Plain inclusion/exclusion of (dotted) fields is done here, cheaply; anything with
 * operators ($slice, $elemMatch, positional `.$`, expressions) goes through mingo.
 */
import { Query } from 'mingo';
import type { Doc } from './compare';
import { CommandError } from './errors';

type Tree = { [k: string]: Tree | true };

function isFlag(v: unknown): boolean {
  return typeof v === 'number' || typeof v === 'boolean';
}

export function compileProjection(projection: unknown, filter: Doc): ((d: Doc) => Doc) | undefined {
  if (!projection || typeof projection !== 'object') return undefined;
  const spec = projection as Doc;
  const keys = Object.keys(spec);
  if (keys.length === 0) return undefined;
  const simple = keys.every((k) => isFlag(spec[k]) && !k.includes('$'));
  if (!simple) {
    let q: Query;
    try {
      q = new Query(filter, {});
    } catch (err) {
      throw new CommandError(2, 'BadValue', (err as Error).message);
    }
    return (d) => {
      try {
        return (q.find([d], spec).next() as Doc | undefined) ?? {};
      } catch (err) {
        throw new CommandError(2, 'BadValue', (err as Error).message);
      }
    };
  }
  let excludeId = false;
  const include: Tree = {};
  const exclude: Tree = {};
  let nInclude = 0;
  let nExclude = 0;
  for (const k of keys) {
    const on = Boolean(spec[k]);
    if (k === '_id') {
      excludeId = !on;
      if (on) continue;
      if (keys.length > 1) continue;
    }
    addPath(on ? include : exclude, k);
    if (on) nInclude++;
    else nExclude++;
  }
  if (nInclude && nExclude) {
    const bad = keys.find((k) => k !== '_id' && !spec[k]) ?? '';
    throw new CommandError(31254, 'Location31254', `Cannot do exclusion on field ${bad} in inclusion projection`);
  }
  if (nInclude || (!nExclude && !excludeId)) {
    return (d) => {
      const out = pick(d, include);
      if (!excludeId && d._id !== undefined) return { _id: d._id, ...out };
      return out;
    };
  }
  if (excludeId) exclude._id = true;
  return (d) => omit(d, exclude);
}

function addPath(tree: Tree, path: string): void {
  const parts = path.split('.');
  let cur = tree;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = cur[parts[i]];
    if (next === true) return;
    if (!next) cur[parts[i]] = {};
    cur = cur[parts[i]] as Tree;
  }
  cur[parts[parts.length - 1]] = true;
}

function isPlain(v: unknown): v is Doc {
  return v !== null && typeof v === 'object' && (v).constructor === Object;
}

function pick(d: Doc, tree: Tree): Doc {
  const out: Doc = {};
  for (const k of Object.keys(d)) {
    if (k === '_id' && tree._id === undefined) continue;
    const t = tree[k];
    if (!t) continue;
    const v = d[k];
    if (t === true) out[k] = v;
    else if (isPlain(v)) out[k] = pick(v, t);
    else if (Array.isArray(v)) out[k] = v.filter((e) => isPlain(e) || Array.isArray(e)).map((e) => (isPlain(e) ? pick(e, t) : e));
  }
  return out;
}

function omit(d: Doc, tree: Tree): Doc {
  const out: Doc = {};
  for (const k of Object.keys(d)) {
    const t = tree[k];
    const v = d[k];
    if (t === true) continue;
    if (!t) out[k] = v;
    else if (isPlain(v)) out[k] = omit(v, t);
    else if (Array.isArray(v)) out[k] = v.map((e: unknown) => (isPlain(e) ? omit(e, t) : e));
    else out[k] = v;
  }
  return out;
}
