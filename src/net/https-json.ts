// A JSON request to a site's data API over HTTPS, pinned to the site's own self-signed
// certificate (the one its card carries): the certificate is the only trusted root, and its name
// (the site's name, not the address dialled) is not checked. For the demo, tests and operators'
// scripts; clients of the API do the same with any HTTPS library.
import { request } from 'node:https';

export interface JsonAnswer {
  status: number;
  contentType: string;
  /** The parsed body; the raw text when it is not JSON; undefined when empty. */
  json: any;
}

export function httpsJson(url: string, o: { method: 'GET' | 'POST'; ca: string; token?: string; body?: unknown }): Promise<JsonAnswer> {
  const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: o.method,
      ca: o.ca,
      checkServerIdentity: () => undefined,
      headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => {
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
