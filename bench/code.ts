// The embassy code a run measures. Other engineers edit and commit in the same tree while a
// long run goes on, so the run first copies bin/, src/ and the package files into its data
// directory (node_modules linked, not copied) and runs that copy: every step of one run measures
// the same code. The commit, the number of uncommitted files and a hash of the copy are recorded.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyTree, run } from './measure.ts';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface EmbassyCode {
  /** bin/embassy.js of the copy. */
  bin: string;
  /** HEAD of the working tree when copied; null outside git. */
  commit: string | null;
  /** Files under bin/ and src/ that differed from HEAD (modified or untracked) when copied. */
  uncommittedFiles: number;
  /** SHA-256 over the copied files' paths and contents, hex: names the exact code measured. */
  codeHash: string;
}

async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesBelow(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

async function git(args: string[]): Promise<string | null> {
  try {
    return (await run('git', ['-C', REPO_ROOT, ...args])).trim();
  } catch {
    return null;
  }
}

export async function freezeEmbassy(into: string): Promise<EmbassyCode> {
  await mkdir(into);
  for (const name of ['bin', 'src', 'package.json', 'tsconfig.json']) await copyTree(join(REPO_ROOT, name), join(into, name));
  await symlink(join(REPO_ROOT, 'node_modules'), join(into, 'node_modules'), 'dir');
  const hash = createHash('sha256');
  for (const f of (await filesBelow(join(into, 'bin'))).concat(await filesBelow(join(into, 'src'))).sort()) {
    hash.update(relative(into, f)).update('\0').update(await readFile(f)).update('\0');
  }
  const status = await git(['status', '--porcelain', '--', 'bin', 'src']);
  return {
    bin: join(into, 'bin', 'embassy.js'),
    commit: await git(['rev-parse', 'HEAD']),
    uncommittedFiles: status === null || status === '' ? 0 : status.split('\n').length,
    codeHash: hash.digest('hex'),
  };
}
