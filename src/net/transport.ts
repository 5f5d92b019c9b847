// The FederationTransport of a running node: every call goes through the mTLS PeerClient, so
// every peer is authenticated by the certificate its card pins.
import type { FederationTransport, TextResponse } from '../federation/transport.ts';
import { utf8 } from '../format/bytes.ts';
import type { SiteCard } from './card.ts';
import type { PeerClient } from './client.ts';

const MAX_TEXT_RESPONSE = 4 * 1024 * 1024;

export function peerTransport(client: PeerClient): FederationTransport {
  const text = (res: { status: number; headers: Record<string, unknown>; body: Uint8Array }): TextResponse => ({
    status: res.status,
    body: new TextDecoder().decode(res.body),
    contentType: typeof res.headers['content-type'] === 'string' ? res.headers['content-type'] : undefined,
  });
  return {
    logReader: (card: SiteCard) => client.logReader(card),
    objectSource: (card: SiteCard) => ({ name: card.name, fetchObjects: (ids) => client.fetchObjects(card, ids) }),
    get: async (card, path) => text(await client.request(card, 'GET', path, undefined, MAX_TEXT_RESPONSE)),
    post: async (card, path, body, contentType) => text(await client.request(card, 'POST', path, utf8.encode(body), MAX_TEXT_RESPONSE, contentType)),
  };
}
