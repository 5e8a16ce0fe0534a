import type ExcelJS from 'exceljs';

/**
 * The text of an XLSX cell as the import reads it (shared by the in-memory and the streamed reader; no
 * runtime import of exceljs, so the reading worker loads it only for workbooks).
 */
function dateText(d: Date): string {
  const iso = d.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
}

/** Excel keeps 15 significant digits: a 20-digit code typed into a General cell has already lost its tail. */
function numberText(n: number): { text: string; problem?: string } {
  if (Number.isInteger(n) && Math.abs(n) > Number.MAX_SAFE_INTEGER) {
    return {
      text: BigInt(n).toString(),
      problem: 'was stored by Excel as a number and lost digits: format the column as text (文本) and re-enter it',
    };
  }
  return { text: String(n) };
}

export function cellText(value: ExcelJS.CellValue): { text: string; problem?: string } {
  if (value === null || value === undefined) return { text: '' };
  if (typeof value === 'string') return { text: value };
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'boolean') return { text: value ? 'true' : 'false' };
  if (value instanceof Date) return { text: dateText(value) };
  if ('richText' in value) return { text: value.richText.map((r) => r.text).join('') };
  if ('error' in value) return { text: '', problem: `cell holds the Excel error ${String(value.error)}` };
  if ('formula' in value || 'sharedFormula' in value) {
    const result = (value as { result?: ExcelJS.CellValue }).result;
    if (result === undefined || (typeof result === 'object' && result !== null && 'error' in result)) {
      return { text: '', problem: 'formula without a computed value: save the workbook in Excel first, or paste values' };
    }
    return cellText(result);
  }
  if ('text' in value) return { text: String((value as { text: unknown }).text) };
  return { text: '' };
}
