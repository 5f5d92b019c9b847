// Statements: the entries of a site's log. A statement is a JSON object with a string field
// `type`, stored as its RFC 8785 canonical UTF-8 bytes, at most 65,535 bytes so that a tlog-tiles
// entry bundle (uint16 length prefix) can frame it. Stored bytes must be exactly canonical: a
// verifier re-encodes and compares, so no two byte strings mean the same statement.
import { EmbassyError } from '../errors.ts';
import { bytesEqual, utf8Strict } from './bytes.ts';
import { canonicalJsonBytes, parseJsonStrict } from './canonical-json.ts';

export const MAX_STATEMENT_SIZE = 0xffff;
const TYPE_RE = /^[a-z][a-z0-9.-]{0,63}$/;

export interface Statement {
  type: string;
  [field: string]: unknown;
}

/** Checks the shape and returns the canonical bytes; throws 'input.malformed' or 'input.too-large'. */
export function encodeStatement(value: unknown): Uint8Array {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EmbassyError('input.malformed', 'statement: expected a JSON object');
  }
  const type = (value as Record<string, unknown>).type;
  if (typeof type !== 'string') {
    throw new EmbassyError('input.malformed', 'statement: expected a string field "type"');
  }
  if (!TYPE_RE.test(type)) {
    throw new EmbassyError(
      'input.malformed',
      `statement: type ${JSON.stringify(type.slice(0, 80))} is not lowercase letters, digits, '.' or '-' (1–64, starting with a letter)`,
    );
  }
  const bytes = canonicalJsonBytes(value);
  if (bytes.length > MAX_STATEMENT_SIZE) {
    throw new EmbassyError(
      'input.too-large',
      `statement: ${bytes.length} bytes canonical, at most ${MAX_STATEMENT_SIZE}`,
    );
  }
  return bytes;
}

/** Parses stored statement bytes; they must be valid UTF-8, strict JSON and already canonical. */
export function parseStatement(bytes: Uint8Array): Statement {
  let text: string;
  try {
    text = utf8Strict.decode(bytes);
  } catch {
    throw new EmbassyError('input.malformed', 'statement: not valid UTF-8');
  }
  const value = parseJsonStrict(text);
  const canonical = encodeStatement(value);
  if (!bytesEqual(canonical, bytes)) {
    throw new EmbassyError('input.malformed', 'statement: bytes are not RFC 8785 canonical');
  }
  return value as Statement;
}

/** For verifiers that collect findings: the problem with an entry as a statement, or undefined. */
export function statementProblem(bytes: Uint8Array): string | undefined {
  try {
    parseStatement(bytes);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
