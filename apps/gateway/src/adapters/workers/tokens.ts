/**
 * The DingTalk token on Workers: one per app for every isolate, kept in the `GatewayState`
 * Durable Object (`TokenLeases` from `@dingtalk-gateway/token-provider`), as Node instances keep
 * it in Redis. When N isolates need a token at once, the object gives one of them a lease and
 * the others wait in the object for its outcome: DingTalk's token endpoint is called once per
 * app. Refresh ahead of expiry, the backoff after failed fetches and the revocation path (a
 * token DingTalk refuses is dropped for all, fetched again once in total) are the object's, with
 * the same policies as the Node providers (`expireIn` clamped, refresh 5 min ahead, exponential
 * backoff with jitter).
 *
 * Where the fetch happens: in the isolate that holds the lease, not in the object. The fetch then
 * goes DingTalk's way for that isolate as every call it makes does (the egress guard: the per-IP
 * window and the ban learned from DingTalk's answers; the upstream's timeouts; the `DingTalk token
 * fetched` log line and the fetch metric), with the credentials the isolate already has (the
 * app secret, an ISV's suite ticket: Worker bindings read by the isolate). The object needs no
 * secret, makes no outbound call and logs nothing: it receives the token and its lifetime, or a
 * failure's reason, and never an app secret; nothing it answers holds one. An isolate that dies
 * holding the lease delays the others by the lease's length at most (15 s), as the Redis lock does.
 *
 * Each isolate keeps the token it was handed until the token is due for refresh (5 minutes
 * before it expires, by the object's clock): no RPC per request. From then on it asks the object
 * at most once a second while still sending the valid token. A token another isolate had refused
 * and dropped is dropped here when DingTalk refuses it to this isolate too; its request is then
 * sent again with the object's new token (no extra fetch). If the object cannot be reached (an
 * RPC that throws), the isolate fetches its own token meanwhile, as a Node instance does when
 * Redis is down.
 */
import { type TokenProvider, createLeasedTokenProvider, createMemoryTokenProvider } from '@dingtalk-gateway/token-provider';
import type { GatewayLogger } from '../../core/observability/logger.js';
import type { TokenProviderFactory } from '../../core/tokens/registry.js';
import type { GatewayStateStub } from './state.js';

/** Token providers whose cache, single flight and backoff are the shared object's (`state()`: a new stub per call, as for the other stores). */
export function sharedTokenProviders(state: () => GatewayStateStub, logger?: GatewayLogger): TokenProviderFactory {
  return (appId, fetchToken, onFetch): TokenProvider =>
    createLeasedTokenProvider({
      // Async functions: JS RPC answers with its own thenable; the provider awaits real Promises.
      leases: {
        acquire: async () => state().tokenAcquire(appId),
        settle: async (fence, outcome) => state().tokenSettle(appId, fence, outcome),
        drop: async (token) => state().tokenDrop(appId, token),
      },
      fetchToken,
      onFetch,
      fallback: createMemoryTokenProvider({ fetchToken, onFetch }),
      onAuthorityState: (change, error) => {
        if (change === 'error') logger?.warn({ app: appId, error: error instanceof Error ? error.message : String(error) }, 'GatewayState unavailable; this isolate fetches its own DingTalk token');
        else logger?.info({ app: appId }, 'GatewayState available again; the shared DingTalk token is used');
      },
    });
}
