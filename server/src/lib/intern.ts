/**
 * One copy of each of a few recurring values (region ids, organisations, vendors, tags, report groups) for
 * the per-point state several capabilities keep in memory. Each registry change and each store read brings
 * its own copy of every string; kept per point they cost ~40–200 bytes each, a point's tags array another
 * ~100, for a value a district shares among thousands of points. Only for values of a small vocabulary: a
 * table that outgrows `max` starts over (values already handed out stay valid, only sharing restarts).
 */
export class Interner {
  private strings = new Map<string, string>();
  private lists = new Map<string, readonly string[]>();
  private static readonly EMPTY: readonly string[] = Object.freeze([]);

  constructor(private readonly max = 100_000) {}

  /** The one copy of `s`. */
  str(s: string): string {
    if (s === '') return '';
    const hit = this.strings.get(s);
    if (hit !== undefined) return hit;
    if (this.strings.size >= this.max) this.strings = new Map();
    this.strings.set(s, s);
    return s;
  }

  /** The one (frozen) copy of a list of strings, e.g. a point's tags. */
  list(xs: readonly string[]): readonly string[] {
    if (xs.length === 0) return Interner.EMPTY;
    const key = xs.join('\u0000');
    const hit = this.lists.get(key);
    if (hit !== undefined) return hit;
    if (this.lists.size >= this.max) this.lists = new Map();
    const own = Object.freeze(xs.map((x) => this.str(x)));
    this.lists.set(key, own);
    return own;
  }
}

/** The process's table: one copy per value whichever capability keeps it. */
export const interned = new Interner();

/**
 * A copy of `s` that holds no other string alive. V8 makes a substring of 13 or more characters a view
 * into its parent (a "sliced string"), and `trim`, `normalize` or a replace that changes nothing hand the
 * view back as it is: a 20-digit code cut from a 1 MB piece of decoded file text and kept in a table for
 * the rest of the import keeps the whole piece alive — a million codes kept the file's text (~2 bytes a
 * character) in memory. For long-lived keys taken from large texts. Latin-1 strings only are copied flat;
 * others through a concatenation (a flat copy of `s` plus one character).
 */
export function detached(s: string): string {
  if (s.length < 13) return s;
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\xff]*$/.test(s)) return Buffer.from(s, 'latin1').toString('latin1');
  return (s + ' ').slice(0, -1);
}
