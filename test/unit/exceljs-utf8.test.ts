import { Readable } from 'node:stream';
import { expect } from 'chai';
import { parseSaxUtf8 } from '../../server/src/lib/exceljs';

// exceljs' own parse-sax decoded every chunk on its own: a Chinese character split across two inflated chunks
// became U+FFFD (an XLSX import stored "园林街道钢城社���"). The replacement keeps split characters whole.
describe('exceljs streaming reader: UTF-8 across chunk boundaries', () => {
  it('when every byte of a shared string arrives in its own chunk, then the text comes out whole', async () => {
    const xml = Buffer.from('<sst><si><t>园林街道钢城社区</t></si></sst>', 'utf8');
    const byteByByte = (): AsyncIterable<Buffer> => Readable.from(Array.from({ length: xml.length }, (_, i) => xml.subarray(i, i + 1)));
    let text = '';
    for await (const events of parseSaxUtf8(byteByByte())) {
      for (const e of events) if (e.eventType === 'text') text += String(e.value);
    }
    expect(text).to.equal('园林街道钢城社区');
  });

  it('when exceljs is loaded through lib/exceljs, then its stream reader uses the fixed parser', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require('exceljs/lib/utils/parse-sax.js') as unknown;
    expect(loaded).to.equal(parseSaxUtf8);
  });
});
