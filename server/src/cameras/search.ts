/**
 * Free-text search over points: the derived fields a registry write stores (searchText, searchTokens) and the
 * store filter a query becomes. No mongoose here: the import worker derives these fields for every row.
 */

export function normaliseSearch(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/\s+/g, '');
}

/** Whether a UTF-16 code unit is a CJK ideograph (U+3400–U+9FFF, U+F900–U+FAFF). */
function cjkUnit(c: number): boolean {
  return (c >= 0x3400 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff);
}

/** Whether `s` holds a CJK ideograph. */
function hasCjk(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (cjkUnit(s.charCodeAt(i))) return true;
  return false;
}

/** Length in code units of the character starting at `i` (a surrogate pair is one character). */
function charLength(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

/**
 * Adds the bigrams of `s` that hold a CJK character to `out`, in order. A character outside the BMP is two
 * code units, neither of them CJK: a pair is kept when either of its characters is a single CJK unit.
 * (Works on code units, no array of characters and no string per character: an import derives these for
 * every row, and the arrays were most of what it allocated a point.)
 */
function addCjkBigrams(s: string, out: Set<string>): void {
  if (s.length < 2) return;
  let at = 0;
  let len = charLength(s, 0);
  let cjk = len === 1 && cjkUnit(s.charCodeAt(0));
  while (at + len < s.length) {
    const nextLen = charLength(s, at + len);
    const nextCjk = nextLen === 1 && cjkUnit(s.charCodeAt(at + len));
    if (cjk || nextCjk) out.add(s.slice(at, at + len + nextLen));
    at += len;
    len = nextLen;
    cjk = nextCjk;
  }
}

/**
 * Tokens are the bigrams of name and address plus the single CJK characters of the name (one-character
 * searches like 园 are common in Chinese). The gbCode gets none: a full code is an exact lookup on the
 * unique index and a fragment is matched by the substring scan alone; every token is an index entry
 * paid on each write.
 */
export function searchFieldsOf(p: { name: string; address: string; gbCode: string }): { searchText: string; searchTokens: string[] } {
  const name = normaliseSearch(p.name);
  const address = normaliseSearch(p.address);
  // only bigrams with a Chinese character: a query without one is a substring scan and never reads
  // tokens, so digit/Latin pairs ("12", "-1") would be index entries paid on every write for nothing
  const tokens = new Set<string>();
  addCjkBigrams(name, tokens);
  addCjkBigrams(address, tokens);
  for (let i = 0; i < name.length; i++) if (cjkUnit(name.charCodeAt(i))) tokens.add(name[i]);
  return { searchText: `${name}\n${address}\n${p.gbCode}`, searchTokens: [...tokens] };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Bigrams made only of ASCII letters/digits are the least selective; prefer ones with CJK characters. */
function selectivity(token: string): number {
  return [...token].filter((c) => hasCjk(c)).length;
}

/**
 * The store filter for a free-text query (see the model comment), and whether an index answers it alone
 * (`exact`: a gbCode, or one or two Chinese characters, one token) or the store must test candidate points
 * one by one (a regex and `$all`). Null when the query is empty. One token is an equality condition so that
 * a store which only indexes equality/$in (the embedded one) still narrows through the multikey index;
 * `$all` and the regex then decide exactly.
 */
export function searchPlan(q: string): { filter: Record<string, unknown>; exact: boolean } | null {
  const n = normaliseSearch(q);
  if (!n) return null;
  if (/^\d{20}$/.test(n)) return { filter: { gbCode: n }, exact: true };
  const text = { searchText: { $regex: escapeRegex(n) } };
  const chars = [...n];
  // digits/ASCII-only fragments (gbCode parts, model numbers) have no tokens: substring scan
  if (!chars.some((c) => hasCjk(c))) return { filter: text, exact: false };
  // one or two characters are one token, present exactly when the text is in the name (or, for two, the
  // address): equality alone decides, so the store can page and count from the index without reading points
  if (chars.length <= 2) return { filter: { searchTokens: n }, exact: true };
  // the query's tokens as a write makes them (its bigrams with a Chinese character)
  const found = new Set<string>();
  addCjkBigrams(n, found);
  const indexed = [...found];
  const best = [...indexed].sort((a, b) => selectivity(b) - selectivity(a))[0];
  return { filter: { $and: [{ searchTokens: best }, { searchTokens: { $all: indexed.slice(0, 8) } }, text] }, exact: false };
}
