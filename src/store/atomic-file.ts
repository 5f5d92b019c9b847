// Small files replaced atomically and durably: written to a temporary sibling, fsynced, renamed
// over the target, and the directory fsynced, so that after a crash a reader sees the old
// contents or the new, never a mix or nothing.
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EmbassyError } from '../errors.ts';
import { fsyncDir } from './fsync.ts';

let counter = 0;

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${++counter}.tmp`);
  try {
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await fsyncDir(dirname(path));
  } catch (e) {
    await rm(tmp, { force: true });
    throw new EmbassyError('store.io', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
