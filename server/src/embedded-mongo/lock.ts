/**
 * One server per data directory. The lock file holds the owner's pid; a lock whose pid no longer runs
 * (left behind by kill -9) is taken over, a live one refuses start-up with a message naming the pid.
 * Two processes starting at once over a stale lock cannot both win (see lockDataDir).
 */
import fs from 'node:fs';
import path from 'node:path';

export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`data directory ${dir} is in use by another Vigil/embedded store process (pid ${pid})`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DirLock {
  release(): void;
}

/** The pid a lock file names, or NaN when it cannot be read. */
function ownerOf(file: string): number {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return NaN;
  }
}

/** Blocks the thread for a few milliseconds (start-up only, between attempts). */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function inodeOf(file: string): number | null {
  try {
    return fs.statSync(file).ino;
  } catch {
    return null;
  }
}

/**
 * Takes the data directory's lock, or throws DataDirLockedError naming the live owner.
 *
 * Race-free between processes starting together, stale lock or not:
 * - the lock appears atomically *with* its pid (written to a private file, then hard-linked into place:
 *   link fails with EEXIST when a lock exists), so nobody ever reads an empty lock and takes it for stale;
 * - only the holder of a short-lived takeover mutex (`<lock>.takeover`, created exclusively) may remove a
 *   stale lock (its pid no longer runs), and it re-checks under the mutex that the lock is still the very file
 *   it judged stale. Nobody else can replace an existing lock (link refuses), so the file it removes is that
 *   stale one; then everyone competes again through link. A takeover mutex left by a process killed while
 *   holding it (held for microseconds, so one older than 5 s) is cleared.
 */
export function lockDataDir(dir: string): DirLock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'vigil-store.lock');
  const takeover = `${file}.takeover`;
  const unique = `${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
  const mine = `${file}.${unique}`;
  fs.writeFileSync(mine, String(process.pid), { flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        fs.linkSync(mine, file);
        const ino = inodeOf(file);
        return {
          release() {
            // only our own lock file (same inode) is removed, never one a successor took over
            if (ino !== null && inodeOf(file) === ino) {
              try {
                fs.unlinkSync(file);
              } catch {
                // already gone
              }
            }
          },
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const ino = inodeOf(file);
      const owner = ownerOf(file);
      if (ino === null) continue;
      if (Number.isInteger(owner) && owner > 0 && (owner === process.pid || alive(owner))) throw new DataDirLockedError(dir, owner);
      // Stale (or unreadable) lock from a process that died without releasing it: remove it under the mutex.
      try {
        fs.writeFileSync(takeover, String(process.pid), { flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        try {
          if (Date.now() - fs.statSync(takeover).mtimeMs > 5000) fs.unlinkSync(takeover);
        } catch {
          // gone meanwhile
        }
        sleepMs(5);
        continue;
      }
      try {
        const ownerNow = ownerOf(file);
        if (inodeOf(file) === ino && !(Number.isInteger(ownerNow) && ownerNow > 0 && alive(ownerNow))) fs.unlinkSync(file);
      } catch {
        // gone meanwhile: the next round competes
      } finally {
        try {
          fs.unlinkSync(takeover);
        } catch {
          // gone
        }
      }
    }
    throw new Error(`could not acquire lock on data directory ${dir}`);
  } finally {
    try {
      fs.unlinkSync(mine);
    } catch {
      // gone
    }
  }
}
