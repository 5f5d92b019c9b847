// Test support: validators for the Haal Centraal BRP Personen OpenAPI 3.1 spec in
// ../shared/data/brp-api (read at run time, never copied). OpenAPI's discriminator mappings are
// turned into if/then chains, so a verblijfplaats of type Adres is checked as an Adres and not
// only as its abstract base; an unknown discriminator value fails.
//
// One documented relaxation (SPEC_RELAXATIONS): the spec's Waardetabel.omschrijving pattern
// forbids '/' and '+', yet the official table texts the API returns contain them (the features
// expect "geslachtsnaam echtgenoot/geregistreerd partner", "ouder1 + ouder2 hebben het gezag").
import { existsSync, readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { fileURLToPath } from 'node:url';

/** ../shared beside the repository (as test/support/shared.ts finds it). */
const SHARED_DIR = fileURLToPath(new URL('../../../shared/', import.meta.url));

export const BRP_SPEC_FILE = `${SHARED_DIR}data/brp-api/openapi/brp-personen-openapi-resolved.yaml`;
export const BRP_MOCK_FILE = `${SHARED_DIR}data/brp-api/test-data/brp-personen-mock-test-data.json`;
export const BRP_FEATURES_DIR = `${SHARED_DIR}data/brp-api/features/`;

/** A node:test skip value: false when the BRP data is present, else a message naming it. */
export const skipUnlessBrp: string | false = existsSync(BRP_SPEC_FILE) && existsSync(BRP_MOCK_FILE) ? false : `BRP spec or test persons absent at ${SHARED_DIR}data/brp-api`;

type Json = Record<string, any>;

export const SPEC_RELAXATIONS = {
  waardetabelOmschrijving: "^[a-zA-Z0-9À-ž \\'\\.\\-\\(\\),/+]{1,200}$",
} as const;
const REF = '#/components/schemas/';

function polymorphic(doc: Json): void {
  const schemas = doc['components']['schemas'] as Json;
  const bases = Object.entries(schemas).filter(([, s]) => s.discriminator?.mapping);
  const rewrite = (node: unknown, inAllOf: boolean): void => {
    if (Array.isArray(node)) {
      for (const n of node) rewrite(n, inAllOf);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const o = node as Json;
    if (typeof o['$ref'] === 'string' && !inAllOf) {
      const name = o['$ref'].slice(REF.length);
      if (schemas[name]?.discriminator?.mapping) o['$ref'] = `${REF}${name}__poly`;
    }
    for (const [k, v] of Object.entries(o)) rewrite(v, k === 'allOf');
  };
  rewrite(doc['components'], false);
  rewrite(doc['paths'], false);
  for (const [name, s] of bases) {
    const prop = s.discriminator.propertyName as string;
    const mapping = s.discriminator.mapping as Record<string, string>;
    schemas[`${name}__poly`] = {
      allOf: [
        { $ref: `${REF}${name}` },
        { required: [prop], properties: { [prop]: { enum: Object.keys(mapping) } } },
        ...Object.entries(mapping).map(([value, ref]) => ({ if: { properties: { [prop]: { const: value } } }, then: { $ref: ref } })),
      ],
    };
  }
}

export interface BrpSpec {
  /** A validator for one component schema, e.g. 'Persoon', 'RaadpleegMetBurgerservicenummerResponse'. */
  schema(name: string): ValidateFunction;
}

let cached: BrpSpec | undefined;

export function loadBrpSpec(): BrpSpec {
  if (cached) return cached;
  const doc = parse(readFileSync(BRP_SPEC_FILE, 'utf8')) as Json;
  polymorphic(doc);
  const omschrijving = doc['components']['schemas']['Waardetabel']['properties']['omschrijving'];
  omschrijving.pattern = SPEC_RELAXATIONS.waardetabelOmschrijving;
  doc['$id'] = 'brp-personen.json';
  // The spec's patterns escape quotes (\') which the u flag rejects; all its ranges are in the BMP.
  const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false });
  const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema(doc);
  const validators = new Map<string, ValidateFunction>();
  cached = {
    schema(name) {
      let v = validators.get(name);
      if (!v) {
        const s = doc['components']['schemas'][name] ? (doc['components']['schemas'][`${name}__poly`] ? `${name}__poly` : name) : undefined;
        if (!s) throw new Error(`brp spec: no schema ${name}`);
        v = ajv.getSchema(`brp-personen.json${REF}${s}`)!;
        validators.set(name, v);
      }
      return v;
    },
  };
  return cached;
}

/** ajv's errors as short lines, for assertion messages. */
export function describeErrors(v: ValidateFunction): string {
  return (v.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`).join('; ');
}

/**
 * ajv's errors other than string patterns and lengths (and the if/then wrappers they cause):
 * what is left is a wrong shape, type, required member or discriminator.
 */
export function structuralErrors(v: ValidateFunction): string[] {
  return (v.errors ?? []).filter((e) => !['pattern', 'maxLength', 'if', 'format'].includes(e.keyword) || (e.keyword === 'format' && e.params['format'] !== 'uri')).map((e) => `${e.instancePath || '/'} ${e.message}`);
}
