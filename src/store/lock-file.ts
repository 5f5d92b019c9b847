// A lock file naming its holder (pid and host), for "one writer at a time" across processes:
// created with O_EXCL; a lock left by a process that no longer runs on this host (kill -9, power
// loss) is taken over. Used by the site lock and by the object store's writer lock.
import { hostname } from 'node:os';
import { open, readFile, rm } from 'node:fs/promises';
import { EmbassyError } from '../errors.ts';

export async function acquireLockFile(path: string, what: string): Promise<() => Promise<void>> {
  const me = JSON.stringify({ pid: process.pid, host: hostname() });
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(me);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        throw new EmbassyError('log.locked', `${what} is locked by another process`, {
          hint: `if no embassy process runs for it, remove ${path}`,
          cause: e,
        });
      }
      const holder = await readFile(path, 'utf8').catch(() => '');
      if (!isStaleLock(holder)) {
        throw new EmbassyError('log.locked', `${what} is locked by another process (${holder})`, {
          hint: `wait for it to finish; if none runs, remove ${path}`,
        });
      }
      await rm(path, { force: true });
    }
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await rm(path, { force: true });
  };
}

function isStaleLock(holder: string): boolean {
  try {
    const { pid, host } = JSON.parse(holder) as { pid: number; host: string };
    if (host !== hostname() || !Number.isInteger(pid)) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    return true; // unreadable or half-written lock: its writer died between open and write
  }
}
