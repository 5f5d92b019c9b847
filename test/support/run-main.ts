// Runs the `embassy` command line in this process through main(), with stdout and stderr
// captured: for tests of one command that do not need a child process.
import { main } from '../../src/cli/main.ts';

export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runMain(args: string[]): Promise<MainResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'embassy', ...args], { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}
