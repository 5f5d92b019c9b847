import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { passesElfproef, urlHasBsn } from './bsn-guard.ts';

describe('elfproef', () => {
  test('known BSNs pass, near misses do not', () => {
    for (const bsn of ['111222333', '123456782', '999993653']) assert.equal(passesElfproef(bsn), true, bsn);
    for (const s of ['111222334', '123456789', '000000000', '12345678', '1234567820', 'abcdefghi']) assert.equal(passesElfproef(s), false, s);
  });
});

describe('a BSN in a URL', () => {
  test('found in a path segment, a query value, percent-encoded or embedded in text', () => {
    for (const u of ['/x/123456782', '/x?bsn=123456782', '/x/%31%32%33456782', '/x?q=bsn%3D123456782&y=1', '/x/nl-123456782-a', '/x?a=%2531%2532%2533456782']) {
      assert.equal(urlHasBsn(u), true, u);
    }
  });
  test('not found in other digit runs: longer ids, shorter numbers, non-elfproef nine digits', () => {
    for (const u of ['/x/0400010100413895', '/api/v1/datasets/nl.brp.personen/versions', '/x?limit=100&v=12345678', '/x/123456789', '/x/%zz123']) {
      assert.equal(urlHasBsn(u), false, u);
    }
  });
});
