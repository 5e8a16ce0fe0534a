/**
 * find projections. Plain inclusion/exclusion of (dotted) fields is done here, cheaply; anything with
 * operators ($slice, $elemMatch, positional `.$`, expressions) goes through mingo.
 *
 * A projection also takes a stored document that is still only its BSON bytes (a raw find hands the
 * cursor those, see query.ts): an inclusion of top-level fields copies their elements' bytes (other inclusions
 * decode just the projected top-level fields), an exclusion of top-level fields copies the other elements'
 * bytes. None decodes, or keeps, the whole document.
 */
import { Query } from './mingo';
import type { Doc } from './compare';
import { CommandError } from './errors';
import { decodeBson, decodeFields, omitFields, pickFields, rawBson } from './wire';

/** A projection's input and output in a cursor: a document, or BSON bytes (sent as they are). */
export type Projected = Doc | Uint8Array;

/** Document (or bytes) in, document out (findAndModify, $group); `raw` is the cursors' variant that also gives bytes. */
export type Projection = ((d: Projected) => Doc) & { raw: (d: Projected) => Projected };

function makeProjection(raw: (d: Projected) => Projected): Projection {
  const f = ((d: Projected) => asDoc(raw(d))) as Projection;
  f.raw = raw;
  return f;
}

function asDoc(d: Projected): Doc {
  return d instanceof Uint8Array ? decodeBson(d) : d;
}

type Tree = { [k: string]: Tree | true };

function isFlag(v: unknown): boolean {
  return typeof v === 'number' || typeof v === 'boolean';
}

export function compileProjection(projection: unknown, filter: Doc): Projection | undefined {
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
    return makeProjection((d) => {
      try {
        return (q.find([asDoc(d)], spec).next() as Doc | undefined) ?? {};
      } catch (err) {
        throw new CommandError(2, 'BadValue', (err as Error).message);
      }
    });
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
    const roots = new Set([...Object.keys(include), '_id']);
    // top-level inclusions of stored bytes splice them (_id first, then the fields in document order, as below); a
    // decoded document is picked from, as before
    const topNames = Object.values(include).every((t) => t === true) ? new Set(Object.keys(include)) : undefined;
    return makeProjection((input) => {
      if (topNames && input instanceof Uint8Array) {
        const spliced = pickFields(Buffer.from(input.buffer, input.byteOffset, input.byteLength), topNames, excludeId);
        if (spliced) return spliced;
      }
      const d = input instanceof Uint8Array ? decodeFields(Buffer.from(input.buffer, input.byteOffset, input.byteLength), roots) : input;
      const out = pick(d, include);
      if (!excludeId && d._id !== undefined) return { _id: d._id, ...out };
      return out;
    });
  }
  if (excludeId) exclude._id = true;
  const topLevel = Object.values(exclude).every((t) => t === true) ? new Set(Object.keys(exclude)) : undefined;
  return makeProjection((d) => {
    // top-level exclusions splice the stored bytes: nothing is decoded or re-encoded
    const bytes = !topLevel ? undefined : d instanceof Uint8Array ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : rawBson.get(d);
    const spliced = bytes && topLevel ? omitFields(bytes, topLevel) : undefined;
    return spliced ?? omit(asDoc(d), exclude);
  });
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
