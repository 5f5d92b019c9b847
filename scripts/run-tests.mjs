#!/usr/bin/env node
// Finds every *.test.ts below the given folders (default: src, test and bench) and runs them with
// node's own test runner through tsx. Node 20's --test takes no globs, hence this file.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const found = [];
function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) found.push(p);
  }
}
for (const r of roots.length ? roots : ['src', 'test', 'bench']) {
  if (statSync(r, { throwIfNoEntry: false })?.isDirectory()) walk(r);
  else if (r.endsWith('.test.ts')) found.push(r);
}
if (found.length === 0) {
  console.error('run-tests: no *.test.ts files found');
  process.exit(1);
}
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...found],
  { stdio: 'inherit' },
);
process.exit(res.status ?? 1);
