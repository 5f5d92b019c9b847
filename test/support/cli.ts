// Runs the real `embassy` executable in a child process, as an operator would.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const EMBASSY_BIN = fileURLToPath(new URL('../../bin/embassy.js', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  json: () => any;
}

export function embassy(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [EMBASSY_BIN, ...args], {
    encoding: 'utf8',
    input: options.input,
    env: { ...process.env, ...options.env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}
