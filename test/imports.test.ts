// Keeps the layering honest (DESIGN.md §9, STYLE.md): pure modules import only pure modules and
// node:crypto/node:buffer; verify never imports sync or serve; only the CLI imports the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const PURE = new Set(['format', 'crypto', 'log', 'tree', 'object', 'chunk', 'generate', 'proof']);
const PURE_NODE_BUILTINS = new Set(['node:crypto', 'node:buffer']);
// Third-party packages that do no I/O and may be used by pure modules.
const PURE_PACKAGES = new Set(['shamir-secret-sharing', 'zstd-napi']);
const FORBIDDEN: Record<string, string[]> = {
  verify: ['sync', 'serve', 'cli'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

function moduleOf(file: string): string {
  const rel = relative(SRC, file).split('/');
  return rel.length > 1 ? rel[0]! : '(root)';
}

/** Problems in a tree given as absolute path → source text (paths under SRC). */
function layeringProblems(tree: Map<string, string>): { problems: string[]; checked: number } {
  const problems: string[] = [];
  let checked = 0;
  for (const [file, text] of tree) {
    const mod = moduleOf(file);
    if (PURE.has(mod) && /\b(process\.|Date\.now\(|Math\.random\()/.test(text)) {
      problems.push(`${relative(SRC, file)}: pure module uses process, Date.now or Math.random`);
    }
    for (const spec of importsOf(text)) {
      checked++;
      const where = `${relative(SRC, file)} imports ${spec}`;
      if (spec.startsWith('.')) {
        const target = moduleOf(resolve(dirname(file), spec));
        if (PURE.has(mod) && !PURE.has(target) && target !== '(root)') problems.push(`${where}: pure module imports ${target}`);
        if (FORBIDDEN[mod]?.includes(target)) problems.push(`${where}: ${mod} must not depend on ${target}`);
        if (target === 'cli' && mod !== 'cli') problems.push(`${where}: only the CLI may import the CLI`);
      } else if (PURE.has(mod) && !PURE_NODE_BUILTINS.has(spec) && !PURE_PACKAGES.has(spec)) {
        problems.push(`${where}: pure module imports ${spec}`);
      }
    }
  }
  return { problems, checked };
}

test('import direction: pure modules do no I/O, verify needs neither sync nor serve', () => {
  const tree = new Map(files(SRC).map((f) => [f, readFileSync(f, 'utf8')]));
  const { problems, checked } = layeringProblems(tree);
  assert.ok(checked > 20, `only ${checked} imports seen: is the parser broken?`);
  assert.deepEqual(problems, []);
});

test('the import checker catches upward edges', () => {
  const tree = new Map([
    [join(SRC, 'log', 'bad.ts'), "import { readFile } from 'node:fs';\nimport type { X } from '../store/x.ts';\nconst t = Date.now();\n"],
    [join(SRC, 'verify', 'bad.ts'), "import { follow } from '../sync/follow.ts';\n"],
    [join(SRC, 'store', 'bad.ts'), "export { main } from '../cli/main.ts';\n"],
  ]);
  assert.equal(layeringProblems(tree).problems.length, 5);
});
