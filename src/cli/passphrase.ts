// Reading a passphrase for the CLI: from a file (its first line), from an environment variable
// (for automation), or typed on the terminal without echo. Never from a command-line argument,
// which other users can see in the process list. Passphrases are never printed or logged.
import { readFile } from 'node:fs/promises';
import { EmbassyError } from '../errors.ts';

/** The terminal as readPassphrase needs it; process.stdin and process.stderr by default. */
export interface PassphraseIo {
  input: {
    isTTY?: boolean;
    setRawMode?: (raw: boolean) => unknown;
    on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
    removeListener(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
    resume(): unknown;
    pause(): unknown;
  };
  output: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

const defaultIo = (): PassphraseIo => ({ input: process.stdin, output: process.stderr, env: process.env });

export interface ReadPassphraseOptions {
  /** Read the first line of this file. */
  file?: string;
  /** Read the environment variable of this name. */
  env?: string;
  /** Shown on the terminal when neither file nor env is given, e.g. "passphrase for anna: ". */
  prompt: string;
  io?: PassphraseIo;
}

/** Reads one passphrase from the file, the variable, or (neither given) the terminal without echo. */
export async function readPassphrase(o: ReadPassphraseOptions): Promise<string> {
  const io = o.io ?? defaultIo();
  if (o.file !== undefined && o.env !== undefined) {
    throw new EmbassyError('usage', 'passphrase: give a passphrase file or an environment variable, not both');
  }
  if (o.file !== undefined) return firstLineOf(o.file);
  if (o.env !== undefined) {
    const value = io.env[o.env];
    if (value === undefined || value === '') {
      throw new EmbassyError('usage', `passphrase: environment variable ${o.env} is not set`);
    }
    return value;
  }
  return promptHidden(io, o.prompt);
}

/** The first line of a passphrase file, without its line ending; an empty line is refused. */
export async function firstLineOf(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new EmbassyError('usage', `passphrase: cannot read passphrase file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const line = text.split('\n', 1)[0]!.replace(/\r$/, '');
  if (line === '') throw new EmbassyError('usage', `passphrase: the first line of ${file} is empty`);
  return line;
}

/**
 * Asks on the terminal with echo off (raw mode): Enter ends, Backspace deletes, Ctrl-C or Ctrl-D
 * cancels. Refuses when the input is not a terminal, because a passphrase piped in on stdin
 * would look like it worked while something else may have been read.
 */
export function promptHidden(io: PassphraseIo, prompt: string): Promise<string> {
  const { input, output } = io;
  if (!input.isTTY || typeof input.setRawMode !== 'function') {
    return Promise.reject(new EmbassyError('usage', 'passphrase: standard input is not a terminal, so the passphrase cannot be asked for', {
      hint: 'give it with --passphrase-file FILE or --passphrase-env VAR (custody init: --passphrase-dir DIR or --passphrase-env PREFIX)',
    }));
  }
  output.write(prompt);
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (err?: EmbassyError): void => {
      input.removeListener('data', onData);
      input.setRawMode!(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(typed.normalize('NFC'));
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || (ch === '\u0004' && typed === '')) {
          return done(new EmbassyError('usage', 'passphrase: cancelled'));
        }
        if (ch === '\u007f' || ch === '\b') {
          typed = [...typed].slice(0, -1).join('');
        } else if (ch >= ' ') {
          typed += ch;
        }
      }
    };
    input.on('data', onData);
  });
}

/**
 * A new passphrase for a custodian, typed twice on the terminal; the two must match. The caller
 * checks its strength (custody/share-file.ts checkPassphraseStrength).
 */
export async function promptNewPassphrase(io: PassphraseIo | undefined, who: string): Promise<string> {
  const use = io ?? defaultIo();
  const first = await promptHidden(use, `new passphrase for ${who}: `);
  const second = await promptHidden(use, `repeat the passphrase for ${who}: `);
  if (first !== second) throw new EmbassyError('usage', `passphrase: the two passphrases for ${who} differ`);
  return first;
}
