import { createRequire } from 'node:module';
import type ExcelJSModule from 'exceljs';

/**
 * A module loaded on first use instead of at start-up. For heavy modules that a common path never needs: the
 * import worker starts once per import, and exceljs alone costs ~0.5 s of its start on a CSV file. A plain
 * `require` (not `import()`), so that it resolves the same from source under tsx and from the compiled build.
 * The caller names the module's type (`import type * as M from './m'`).
 */
export function lazyRequire<T>(fromFile: string, id: string): T {
  return createRequire(fromFile)(id) as T;
}

/** exceljs through lib/exceljs.ts (its UTF-8 fix must be in place before exceljs loads), on first use. */
export function loadExcelJS(): typeof ExcelJSModule {
  return lazyRequire<{ default: typeof ExcelJSModule }>(__filename, './exceljs').default;
}
