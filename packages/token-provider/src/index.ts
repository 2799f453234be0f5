/**
 * DingTalk access tokens: fetched once, cached, refreshed ahead of expiry.
 *
 * ```ts
 * import { createMemoryTokenProvider, internalAppToken } from '@dingtalk-gateway/token-provider';
 *
 * const tokens = createMemoryTokenProvider({ fetchToken: internalAppToken({ appKey, appSecret }) });
 * const { token } = await tokens.getToken();
 * // after DingTalk answers InvalidAuthentication for `token`:
 * await tokens.invalidate(token);
 * ```
 *
 * The Redis provider (several instances sharing one token) is `@dingtalk-gateway/token-provider/redis`:
 * it needs `ioredis`, an optional peer dependency that this entry never loads. The leased provider
 * (`createLeasedTokenProvider`, with `TokenLeases` as the authority) shares one token through any
 * authority reached asynchronously, e.g. a Cloudflare Durable Object; it uses Web-standard APIs only.
 */
export * from './interface.js';
export { createMemoryTokenProvider, type MemoryTokenProviderOptions, type TokenFetchEvent } from './memory.js';
export {
  TokenLeases,
  createLeasedTokenProvider,
  type LeasedTokenProviderOptions,
  type TokenFetchOutcome,
  type TokenGrant,
  type TokenLeaseClient,
  type TokenLeasesOptions,
} from './leased.js';
export { internalAppToken, corpAccessToken, DINGTALK_BASE_URL, type FetchLike } from './fetchers.js';
export { DEFAULT_LIFETIME_POLICY, lifetimeMs, tokenTimes, type LifetimePolicy, type TokenTimes } from './lifetime.js';
export { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from './backoff.js';
