/**
 * exceljs, with its streaming reader's UTF-8 decoding fixed. Every import of the exceljs runtime goes through this
 * module (type-only imports may name 'exceljs' directly).
 *
 * exceljs 4.4's `lib/utils/parse-sax.js` turns each inflated chunk into a string on its own, so a multi-byte
 * character (every Chinese one) split across two chunks comes out as U+FFFD: an XLSX import stored
 * "园林街道钢城社���" (exceljs issues #2063, #2084, #2316; the fixes #1665, #2081, #2894 are not merged). Before
 * exceljs loads, its module is replaced here by the same parser fed through a StringDecoder, which keeps a split
 * character's first bytes until the rest arrives. The replacement must be in place before exceljs' own modules
 * capture it, hence the runtime `require` below instead of a hoisted import.
 */
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type ExcelJSModule from 'exceljs';

interface Saxes {
  on(event: 'error', listener: (err: Error) => void): void;
  on(event: 'opentag' | 'text' | 'closetag', listener: (value: never) => void): void;
  write(chunk: string): void;
}
type SaxEvent = { eventType: 'opentag' | 'text' | 'closetag'; value: unknown };
type Chunks = AsyncIterable<Buffer | Uint8Array | string>;

const req = createRequire(__filename);
const saxPath = req.resolve('exceljs/lib/utils/parse-sax.js');
const { SaxesParser } = createRequire(saxPath)('saxes') as { SaxesParser: new () => Saxes };

/** exceljs' parse-sax with whole characters: the same events, batched per chunk as the original yields them. */
export async function* parseSaxUtf8(input: Chunks | NodeJS.ReadableStream): AsyncGenerator<SaxEvent[]> {
  const iterable: Chunks = Symbol.asyncIterator in input ? (input as Chunks) : (input as NodeJS.ReadableStream).pipe(new PassThrough());
  const parser = new SaxesParser();
  const decoder = new StringDecoder('utf8');
  const failed: { error: Error | null } = { error: null };
  let events: SaxEvent[] = [];
  parser.on('error', (err: Error) => {
    failed.error = err;
  });
  parser.on('opentag', (value: never) => events.push({ eventType: 'opentag', value }));
  parser.on('text', (value: never) => events.push({ eventType: 'text', value }));
  parser.on('closetag', (value: never) => events.push({ eventType: 'closetag', value }));
  for await (const chunk of iterable) {
    parser.write(typeof chunk === 'string' ? chunk : decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)));
    if (failed.error) throw failed.error;
    yield events;
    events = [];
  }
  const rest = decoder.end();
  if (rest) {
    parser.write(rest);
    if (failed.error) throw failed.error;
    yield events;
  }
}

if (req.cache[req.resolve('exceljs/lib/stream/xlsx/workbook-reader.js')]) {
  throw new Error('exceljs was loaded before server/src/lib/exceljs.ts: import exceljs only through that module');
}
req(saxPath);
const cached = req.cache[saxPath];
if (cached) cached.exports = parseSaxUtf8;

const ExcelJS = req('exceljs') as typeof ExcelJSModule;
export default ExcelJS;
