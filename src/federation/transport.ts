// How federation services talk to peers, as an interface so that they stay free of sockets:
// the node wires it to the mTLS PeerClient (src/net/transport.ts); tests may wire anything.
import type { SiteCard } from '../net/card.ts';
import type { LogReader } from '../store/log-store.ts';
import type { ObjectSource } from '../sync/graph.ts';

export interface TextResponse {
  status: number;
  body: string;
  contentType: string | undefined;
}

export interface FederationTransport {
  /** The peer's log resources. */
  logReader(card: SiteCard): LogReader;
  /** The peer's objects (POST /objects), every object checked against its id. */
  objectSource(card: SiteCard): ObjectSource;
  get(card: SiteCard, path: string): Promise<TextResponse>;
  post(card: SiteCard, path: string, body: string, contentType: string): Promise<TextResponse>;
}
