// The serving API's OpenAPI 3.0 description (NL API Design Rules: /core/doc-openapi, served at
// /api/v1/openapi.json; /core/version-header: API-Version on every response; /core/error-handling:
// application/problem+json, RFC 9457). The request body schemas here are also the ones the routes
// validate with, so the document cannot drift from what the server accepts; tests validate every
// response against the response schemas. Pure data.
import { PROOF_BUNDLE_FORMAT } from '../proof/bundle.ts';
import { MAX_LOOKUP_LIMIT, MAX_RANGE_LIMIT } from './reads.ts';

export const API_VERSION = '1.0.0';
export const API_BASE = '/api/v1';
export const BRP_PATH = '/haalcentraal/api/brp/personen';

type Schema = Record<string, unknown>;

const key: Schema = { type: 'string', minLength: 1, maxLength: 1024, description: 'record key (for persons: the burgerservicenummer)' };
const versionSelector: Record<string, Schema> = {
  version: { type: 'integer', minimum: 1, description: 'a retained version number; default: the newest' },
  at: { type: 'string', format: 'date-time', description: 'the newest version whose sourceTime is at or before this time' },
};
const notBoth: Schema = { not: { required: ['version', 'at'] } };

/** Request bodies, as the routes validate them. */
export const REQUEST_SCHEMAS = {
  RecordGetRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['key'],
    properties: { key, ...versionSelector, proof: { type: 'boolean', description: 'add the proof bundle' } },
    ...notBoth,
  },
  RecordRangeRequest: {
    type: 'object',
    additionalProperties: false,
    properties: {
      from: { ...key, description: 'first key (inclusive)' },
      to: { ...key, description: 'end key (exclusive)' },
      after: { ...key, description: 'cursor: the next of the previous page; records after this key' },
      limit: { type: 'integer', minimum: 1, maximum: MAX_RANGE_LIMIT, default: 100 },
      ...versionSelector,
    },
    ...notBoth,
  },
  IndexLookupRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['fields', 'values'],
    properties: {
      fields: { type: 'array', minItems: 1, maxItems: 16, items: { type: 'string', minLength: 1, maxLength: 256 }, description: 'the index, as field paths' },
      values: { type: 'array', minItems: 1, maxItems: 16, items: { oneOf: [{ type: 'string', maxLength: 1024 }, { type: 'integer' }] } },
      limit: { type: 'integer', minimum: 1, maximum: MAX_LOOKUP_LIMIT, default: 100 },
      proof: { type: 'boolean' },
      ...versionSelector,
    },
    ...notBoth,
  },
} satisfies Record<string, Schema>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** An answer about one version of a dataset: which one, and from when, beside `extra`. */
function versioned(required: string[], extra: Record<string, Schema>): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['dataset', 'version', 'sourceTime', ...required],
    properties: { dataset: { type: 'string' }, version: { type: 'integer' }, sourceTime: { type: 'string' }, ...extra },
  };
}

const RESPONSE_SCHEMAS: Record<string, Schema> = {
  Problem: {
    type: 'object',
    required: ['type', 'title', 'status'],
    properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' } },
  },
  Record: {
    type: 'object',
    additionalProperties: false,
    required: ['key', 'contentType', 'value'],
    properties: { key: { type: 'string' }, contentType: { type: 'string' }, value: { description: 'JSON for application/json, else base64 of the bytes' } },
  },
  ProofBundle: {
    type: 'object',
    description: 'verifiable offline with `embassy proof verify --vkey <homeVerifierKey>` (docs/format.md §7)',
    additionalProperties: false,
    required: ['format', 'record', 'statement', 'logIndex', 'logProof', 'checkpoint'],
    properties: {
      format: { type: 'string', enum: [PROOF_BUNDLE_FORMAT] },
      record: { type: 'object' },
      statement: { type: 'object' },
      logIndex: { type: 'integer', minimum: 0 },
      logProof: { type: 'array', items: { type: 'string' } },
      checkpoint: { type: 'string' },
    },
  },
  Status: {
    type: 'object',
    additionalProperties: false,
    required: ['site', 'role', 'active'],
    properties: {
      site: { type: 'string' },
      role: { type: 'string' },
      active: { type: 'boolean' },
      activation: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'drill', 'notAfter', 'datasets'],
        properties: {
          id: { type: 'string' },
          drill: { type: 'boolean' },
          notAfter: { type: 'string', format: 'date-time', nullable: true },
          datasets: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
  DatasetSummary: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'homeOrigin', 'homeVerifierKey', 'key', 'indexes', 'version', 'records', 'sourceTime'],
    properties: {
      id: { type: 'string' },
      homeOrigin: { type: 'string' },
      homeVerifierKey: { type: 'string', description: 'C2SP verifier key of the home log, for `embassy proof verify --vkey`' },
      key: { type: 'array', items: { type: 'string' } },
      indexes: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
      version: { type: 'integer', nullable: true, description: 'the newest retained version' },
      records: { type: 'integer', nullable: true },
      sourceTime: { type: 'string', format: 'date-time', nullable: true },
    },
  },
  DatasetList: { type: 'object', additionalProperties: false, required: ['datasets'], properties: { datasets: { type: 'array', items: ref('DatasetSummary') } } },
  Version: {
    type: 'object',
    additionalProperties: false,
    required: ['version', 'records', 'sourceTime', 'logIndex', 'commitment'],
    properties: {
      version: { type: 'integer' },
      records: { type: 'integer' },
      sourceTime: { type: 'string', format: 'date-time' },
      logIndex: { type: 'integer' },
      commitment: { type: 'string', description: 'base64 of the version commitment' },
    },
  },
  VersionList: {
    type: 'object',
    additionalProperties: false,
    required: ['dataset', 'versions'],
    properties: { dataset: { type: 'string' }, versions: { type: 'array', items: ref('Version') } },
  },
  RecordGetResponse: versioned(['record'], { record: ref('Record'), proof: ref('ProofBundle') }),
  RecordRangeResponse: versioned(['records'], {
    records: { type: 'array', items: ref('Record') },
    next: { type: 'string', description: 'pass as `after` for the next page; absent on the last page' },
  }),
  IndexLookupResponse: versioned(['records'], {
    records: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'contentType', 'value'],
        properties: { key: { type: 'string' }, contentType: { type: 'string' }, value: {}, proof: ref('ProofBundle') },
      },
    },
  }),
  BrpPersonenResponse: {
    type: 'object',
    description: 'a response of the Haal Centraal BRP Personen API 2.x, in its own shape (its OpenAPI spec: brp-api/openapi)',
  },
};

const apiVersionHeader = { $ref: '#/components/headers/API-Version' };

function ok(schema: string, description: string): Schema {
  return { description, headers: { 'API-Version': apiVersionHeader }, content: { 'application/json': { schema: ref(schema) } } };
}

function problems(...statuses: number[]): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const s of statuses) out[String(s)] = { $ref: `#/components/responses/P${s}` };
  return out;
}

const PROBLEM_TEXT: Record<number, string> = {
  400: 'malformed request, or a personal identifier in the URL (input.malformed)',
  401: 'no bearer token, or not a valid one (auth.unauthorized)',
  403: 'the dataset is outside the token or the activation (auth.forbidden)',
  404: 'no such dataset, version or record',
  429: 'rate limit of the token exceeded (rate.limited)',
  503: 'nothing is served: no activation in force (activation.inactive, activation.expired)',
};

const datasetParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'dataset id, e.g. nl.brp.personen' };
const secured = [{ bearerAuth: [] }];

function post(op: string, summary: string, request: string, response: string): Schema {
  return {
    operationId: op,
    summary,
    security: secured,
    parameters: [datasetParam],
    requestBody: { required: true, content: { 'application/json': { schema: ref(request) } } },
    responses: { '200': ok(response, summary), ...problems(400, 401, 403, 404, 429, 503) },
  };
}

/** The whole document; `servers` is left to the client (the same document is served by every site). */
export function openApiDocument(): Schema {
  return {
    openapi: '3.0.3',
    info: {
      title: 'Data Embassy serving API',
      version: API_VERSION,
      description:
        'Records of the registries held by a data embassy, each optionally with a proof bundle verifiable offline. ' +
        'At a mirror, data is served only while custodians have activated it; every read is journaled. ' +
        'Personal identifiers are sent in POST bodies, never in URLs.',
      contact: { name: 'Data Embassy operators', url: 'https://data-embassy.example/' },
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    servers: [{ url: '/', description: 'this site' }],
    tags: [{ name: 'data' }, { name: 'meta' }, { name: 'brp' }],
    paths: {
      [`${API_BASE}/openapi.json`]: {
        get: { operationId: 'getOpenApi', tags: ['meta'], summary: 'this document', security: [], responses: { '200': { description: 'OpenAPI 3 document', headers: { 'API-Version': apiVersionHeader }, content: { 'application/json': { schema: { type: 'object' } } } } } },
      },
      [`${API_BASE}/status`]: {
        get: { operationId: 'getStatus', tags: ['meta'], summary: 'the site and the activation in force; no data', security: [], responses: { '200': ok('Status', 'status') } },
      },
      [`${API_BASE}/datasets`]: {
        get: { operationId: 'listDatasets', tags: ['data'], summary: 'datasets in both the token scope and the activation scope', security: secured, responses: { '200': ok('DatasetList', 'datasets'), ...problems(401, 429, 503) } },
      },
      [`${API_BASE}/datasets/{id}/versions`]: {
        get: { operationId: 'listVersions', tags: ['data'], summary: 'retained versions of a dataset', security: secured, parameters: [datasetParam], responses: { '200': ok('VersionList', 'versions'), ...problems(401, 403, 404, 429, 503) } },
      },
      [`${API_BASE}/datasets/{id}/records/get`]: { post: { ...post('getRecord', 'a record by key, at the newest version, a given version or a point in time', 'RecordGetRequest', 'RecordGetResponse'), tags: ['data'] } },
      [`${API_BASE}/datasets/{id}/records/range`]: { post: { ...post('rangeRecords', 'records in key order, one page at a time', 'RecordRangeRequest', 'RecordRangeResponse'), tags: ['data'] } },
      [`${API_BASE}/datasets/{id}/index/lookup`]: { post: { ...post('lookupIndex', 'records under a secondary-index value tuple', 'IndexLookupRequest', 'IndexLookupResponse'), tags: ['data'] } },
      [BRP_PATH]: {
        post: {
          operationId: 'personen',
          tags: ['brp'],
          summary: 'Haal Centraal BRP Personen (RaadpleegMetBurgerservicenummer, ZoekMetPostcodeEnHuisnummer, ZoekMetGeslachtsnaamEnGeboortedatum)',
          security: secured,
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } } } } },
          responses: { '200': ok('BrpPersonenResponse', 'persons, in the BRP API shape'), ...problems(400, 401, 403, 429, 503) },
        },
      },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'a token issued with `embassy token issue`' } },
      headers: {
        'API-Version': { description: 'the full version of this API (NL API Design Rules /core/version-header)', schema: { type: 'string', example: API_VERSION } },
      },
      schemas: { ...REQUEST_SCHEMAS, ...RESPONSE_SCHEMAS },
      responses: Object.fromEntries(
        Object.entries(PROBLEM_TEXT).map(([s, d]) => [
          `P${s}`,
          { description: d, headers: { 'API-Version': apiVersionHeader }, content: { 'application/problem+json': { schema: ref('Problem') } } },
        ]),
      ),
    },
  };
}
