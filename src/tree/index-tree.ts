// Secondary indexes as record trees of the same kind (docs/format-tree.md §T.7): one empty record
// per (indexed values, primary key), keyed values ‖ U+0000 ‖ primary key with the values joined
// by U+001F, so all primary keys of one value tuple are one contiguous key range and a lookup is
// a range scan. Index trees are built and updated with buildTree / applyChanges like any other.
import { EmbassyError } from '../errors.ts';
import { checkKey, quoteKey } from './params.ts';
import { iterateLeafEntries } from './read.ts';
import type { TreeRecord, TreeRoot, TreeStore } from './types.ts';

export const INDEX_CONTENT_TYPE = 'application/x-embassy-index';
export const INDEX_VALUE_SEPARATOR = '\u001f';
export const INDEX_KEY_SEPARATOR = '\u0000';

const FORBIDDEN = /[\u0000\u001f]/;

function valuePrefix(values: readonly string[]): string {
  if (!Array.isArray(values) || values.length === 0) throw new EmbassyError('record.invalid', 'index key: expected at least one value');
  for (const [i, v] of values.entries()) {
    if (typeof v !== 'string') throw new EmbassyError('record.invalid', `index key: value ${i} is not a string`);
    if (FORBIDDEN.test(v)) throw new EmbassyError('record.invalid', `index key: value ${i} contains U+0000 or U+001F`);
  }
  return values.join(INDEX_VALUE_SEPARATOR);
}

/** values joined by U+001F, then U+0000, then the primary key. Throws 'record.invalid'. */
export function indexEntryKey(values: readonly string[], primaryKey: string): string {
  checkKey(primaryKey);
  const key = `${valuePrefix(values)}${INDEX_KEY_SEPARATOR}${primaryKey}`;
  checkKey(key);
  return key;
}

/** The index record of one (values, primary key) pair: the key carries everything, the value is empty. */
export function indexRecord(values: readonly string[], primaryKey: string): TreeRecord {
  return { key: indexEntryKey(values, primaryKey), contentType: INDEX_CONTENT_TYPE, value: new Uint8Array(0) };
}

/** Splits an index key back into its values and primary key. Throws 'tree.corrupt' if it is not one. */
export function parseIndexEntryKey(key: string): { values: string[]; primaryKey: string } {
  const at = key.indexOf(INDEX_KEY_SEPARATOR);
  if (at <= 0 || at === key.length - 1) throw new EmbassyError('tree.corrupt', `index key ${quoteKey(key)}: expected values, U+0000 and a primary key`);
  return { values: key.slice(0, at).split(INDEX_VALUE_SEPARATOR), primaryKey: key.slice(at + 1) };
}

/**
 * Primary keys indexed under exactly these values, in primary-key order. The range is
 * [prefix ‖ U+0000, prefix ‖ U+0001): every key that starts with prefix ‖ U+0000 and no other.
 */
export async function* lookupIndex(indexRoot: TreeRoot, values: readonly string[], store: TreeStore, limit?: number): AsyncGenerator<string> {
  const prefix = valuePrefix(values);
  const from = `${prefix}${INDEX_KEY_SEPARATOR}`;
  const to = `${prefix}\u0001`;
  const options = limit === undefined ? { from, to } : { from, to, limit };
  for await (const e of iterateLeafEntries(indexRoot, options, store)) yield e.key.slice(from.length);
}
