import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Bytes the process keeps after full collections: the V8 heap plus typed-array and Buffer memory (column
 * tables keep their values there). For memory measures in scripts and tests; turns `--expose-gc` on itself.
 */
export function heapUsedAfterGc(): number {
  fullGc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Three full collections (turns `--expose-gc` on itself): what is still reachable afterwards is kept alive. */
export function fullGc(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) gc();
}
