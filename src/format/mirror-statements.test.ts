import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeStatement, parseStatement } from './statement.ts';
import { isEmbassyError } from '../errors.ts';
import { newActivationId, parseMirrorStatement, type MirrorStatement } from './mirror-statements.ts';

const AT = '2026-03-01T10:00:00.000Z';
const ID = newActivationId(Date.parse(AT), new Uint8Array([0xab, 0x12]));

const good: MirrorStatement[] = [
  { type: 'activation-share', activation: ID, home: 'den-haag.example/embassy', custodian: 'custodian-2', accepted: true, at: AT },
  { type: 'activation-share', activation: null, home: 'den-haag.example/embassy', custodian: 'custodian-9', accepted: false, reason: 'custody.wrong-share', at: AT },
  {
    type: 'activation', id: ID, home: 'den-haag.example/embassy', kekFingerprint: '00112233445566778899aabbccddeeff', custodyEpoch: 1,
    custodians: ['custodian-1', 'custodian-3', 'custodian-4'], datasets: ['nl.brp.personen'], notBefore: AT, notAfter: '2026-03-01T18:00:00.000Z',
    drill: false, readOnly: true, reason: 'home datacenter flooded',
  },
  { type: 'activation-extension', activation: ID, notAfter: '2026-03-02T02:00:00.000Z', custodians: ['custodian-1', 'custodian-2'], at: AT },
  { type: 'deactivation', activation: ID, reason: 'operator', journal: { seq: 12, head: 'ab'.repeat(32) }, at: AT },
  { type: 'access-digest', activation: ID, seq: 0, head: '', at: AT },
  {
    type: 'drill', activation: ID, home: 'den-haag.example/embassy',
    datasets: [{ dataset: 'nl.brp.personen', version: 3, records: 1000, commitmentOk: true, objects: 40, samplesOk: 3 }],
    rto: { firstVerifiedAnswerMs: 12, fullVerificationMs: 340 }, samples: 3, ok: true, at: AT,
  },
];

describe('mirror statements', () => {
  test('activation ids are readable and valid', () => {
    assert.equal(ID, '20260301t100000z-ab12');
  });

  test('every well-formed statement round-trips through the log encoding', () => {
    for (const s of good) {
      const back = parseStatement(encodeStatement(s));
      assert.deepEqual(parseMirrorStatement(back), s);
    }
  });

  test('types of other logs are not this module’s', () => {
    assert.equal(parseMirrorStatement({ type: 'version' }), undefined);
  });

  const malformed: [string, Record<string, unknown>][] = [
    ['share without reason when refused', { ...good[1]!, reason: undefined }],
    ['accepted share with reason', { ...good[0]!, reason: 'x' }],
    ['share with bytes', { ...good[0]!, share: 'AAAA' }],
    ['activation not read-only', { ...good[2]!, readOnly: false }],
    ['activation ending before it starts', { ...good[2]!, notAfter: '2026-03-01T09:00:00.000Z' }],
    ['activation with duplicate custodians', { ...good[2]!, custodians: ['a', 'a'] }],
    ['activation with no datasets', { ...good[2]!, datasets: [] }],
    ['activation with bad id', { ...good[2]!, id: 'Not An Id' }],
    ['deactivation with unknown reason', { ...good[4]!, reason: 'bored' }],
    ['deactivation without journal head', { ...good[4]!, journal: { seq: 1 } }],
    ['digest with negative seq', { ...good[5]!, seq: -1 }],
    ['drill with fractional rto', { ...good[6]!, rto: { firstVerifiedAnswerMs: 1.5, fullVerificationMs: 2 } }],
    ['drill dataset without counts', { ...good[6]!, datasets: [{ dataset: 'nl.x', version: 1 }] }],
    ['time not ISO', { ...good[5]!, at: 'yesterday' }],
  ];
  for (const [name, s] of malformed) {
    test(`refused: ${name}`, () => {
      const clean = JSON.parse(JSON.stringify(s));
      assert.throws(() => parseMirrorStatement(clean), (e) => isEmbassyError(e, 'input.malformed'));
    });
  }
});
