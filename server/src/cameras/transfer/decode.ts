import iconv from 'iconv-lite';

export type TextEncoding = 'utf-8' | 'gb18030';

/** What a caller may ask for explicitly; every GB variant is read as GB18030, their common superset. */
export const encodingParam = ['utf-8', 'utf8', 'gbk', 'gb2312', 'gb18030'] as const;
export type EncodingParam = (typeof encodingParam)[number];

export function canonicalEncoding(e: string): TextEncoding | undefined {
  const n = e.trim().toLowerCase().replace(/_/g, '-');
  if (n === 'utf-8' || n === 'utf8') return 'utf-8';
  if (n === 'gbk' || n === 'gb2312' || n === 'gb18030' || n === 'cp936' || n === 'x-gbk') return 'gb18030';
  return undefined;
}

const utf8Bom = Buffer.from([0xef, 0xbb, 0xbf]);

export function hasUtf8Bom(buf: Buffer): boolean {
  return buf.length >= 3 && buf.subarray(0, 3).equals(utf8Bom);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function isValidUtf8(buf: Buffer): boolean {
  try {
    strictUtf8.decode(buf);
    return true;
  } catch {
    return false;
  }
}

/**
 * Chooses how to read a text file: an explicit choice wins; then a UTF-8 BOM; then a declared encoding
 * (an XML prolog); then valid UTF-8 is UTF-8; anything else is GB18030, which is what Chinese Excel
 * ("CSV (逗号分隔)") and most GB/T 28181 platforms write. GBK text is almost never valid UTF-8, so the
 * order cannot misread a GBK file; pure-ASCII files read the same either way.
 */
export function detectEncoding(buf: Buffer, opts: { explicit?: TextEncoding; declared?: string } = {}): TextEncoding {
  if (opts.explicit) return opts.explicit;
  if (hasUtf8Bom(buf)) return 'utf-8';
  const declared = opts.declared ? canonicalEncoding(opts.declared) : undefined;
  if (declared === 'gb18030') return 'gb18030';
  if (isValidUtf8(buf)) return 'utf-8';
  return 'gb18030';
}

export function decodeText(buf: Buffer, encoding: TextEncoding): string {
  if (encoding === 'utf-8') {
    const body = hasUtf8Bom(buf) ? buf.subarray(3) : buf;
    return body.toString('utf8');
  }
  return iconv.decode(buf, 'gb18030');
}

export function encodeText(text: string, encoding: TextEncoding): Buffer {
  return encoding === 'utf-8' ? Buffer.from(text, 'utf8') : iconv.encode(text, 'gb18030');
}
