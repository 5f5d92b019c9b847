// Where the third-party vectors and public data live (../shared beside the repo), and a skip
// reason when that folder is absent. Tests only ever read from it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SHARED_DIR = fileURLToPath(new URL('../../../shared/', import.meta.url));
export const VECTORS_DIR = fileURLToPath(new URL('../../../shared/vectors/', import.meta.url));

/** A node:test `skip` value: false when present, else a message naming the missing path. */
export function skipUnlessShared(sub: string): string | false {
  const p = SHARED_DIR + sub;
  return existsSync(p) ? false : `shared folder absent at ${p}`;
}
