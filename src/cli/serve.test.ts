// `--listen HOST:PORT` parsing for `embassy serve`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListen } from './serve.ts';
import { isEmbassyError } from '../errors.ts';

test('parseListen', () => {
  assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListen('[::1]:8443'), { host: '::1', port: 8443 });
  for (const bad of ['127.0.0.1', ':80', '127.0.0.1:65536', '127.0.0.1:x', 'host:-1', '']) {
    assert.throws(() => parseListen(bad), (e) => isEmbassyError(e, 'usage'), bad);
  }
});
