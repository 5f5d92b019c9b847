#!/usr/bin/env node
// The `embassy` command. Sources are TypeScript, run through tsx's loader so that
// `npx embassy` works right after `npm install` without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
