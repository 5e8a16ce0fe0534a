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
 * - a stale lock (its pid no longer runs) is moved aside with rename, which only one process can do to that
 *   file; the mover then checks it moved the very file (inode) it judged stale — if a competitor had replaced
 *   it with a fresh lock meanwhile, that lock is linked back — and everyone competes again through link.
 */
export function lockDataDir(dir: string): DirLock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'vigil-store.lock');
  const unique = `${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
  const mine = `${file}.${unique}`;
  fs.writeFileSync(mine, String(process.pid), { flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 20; attempt++) {
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
      // Stale (or unreadable) lock from a process that died without releasing it: move exactly that file aside.
      const aside = `${file}.stale.${unique}.${attempt}`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue; // another starter moved it first
      }
      if (inodeOf(aside) !== ino) {
        // a competitor's fresh lock replaced the stale one meanwhile: put it back
        try {
          fs.linkSync(aside, file);
        } catch {
          // someone else holds the place now; the next round finds out who
        }
      }
      try {
        fs.unlinkSync(aside);
      } catch {
        // gone
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
