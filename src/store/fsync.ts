// Durability primitive shared by the filesystem adapters: fsync of a directory, which makes the
// names created, renamed or removed in it durable (POSIX leaves this to the directory's fsync).
import { open } from 'node:fs/promises';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
