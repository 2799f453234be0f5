/**
 * One token provider per DingTalk app of the config, built at start; on a reload, the provider
 * of an app whose settings and secret are unchanged is kept (its token with it), and an app
 * whose secret or settings changed starts with no token.
 */
import {
  type FetchLike,
  type TokenFetchEvent,
  type TokenFetcher,
  type TokenProvider,
  corpAccessToken,
  createMemoryTokenProvider,
  internalAppToken,
} from '@dingtalk-gateway/token-provider';
import type { SecretSource } from '../../config/secrets.js';
import type { GatewayConfig } from '../../config/schema.js';

export interface TokenRegistry {
  forApp(appId: string): TokenProvider;
  readonly appIds: readonly string[];
  /** Whether `appId`'s provider can serve `identity` (its settings and secret): kept on a reload if so. */
  serves(appId: string, identity: string): boolean;
}

/** Builds the provider of one app: in memory for one instance, shared through Redis when scaled out. */
export type TokenProviderFactory = (appId: string, fetchToken: TokenFetcher, onFetch: (event: TokenFetchEvent) => void) => TokenProvider;

export const memoryTokenProviders: TokenProviderFactory = (_appId, fetchToken, onFetch) => createMemoryTokenProvider({ fetchToken, onFetch });

export function createTokenRegistry(options: {
  config: GatewayConfig;
  secrets: SecretSource;
  /** How token requests reach DingTalk (the same upstream as every other call). */
  fetch: FetchLike;
  createProvider?: TokenProviderFactory;
  onFetch?: (appId: string, event: TokenFetchEvent) => void;
  /** The registry of the config this one replaces (a reload). */
  previous?: TokenRegistry;
}): TokenRegistry {
  const { config, secrets } = options;
  const createProvider = options.createProvider ?? memoryTokenProviders;
  const baseUrl = config.upstream.baseUrl;
  const providers = new Map<string, TokenProvider>();
  const identities = new Map<string, string>();
  for (const [appId, app] of Object.entries(config.apps)) {
    // In memory only, never logged: what a provider was built from (the base URL, the app, its secret).
    const identity = JSON.stringify([baseUrl, app, secrets.appSecret(appId)]);
    identities.set(appId, identity);
    if (options.previous?.serves(appId, identity)) {
      providers.set(appId, options.previous.forApp(appId));
      continue;
    }
    const fetchToken: TokenFetcher =
      app.type === 'internal'
        ? internalAppToken({ baseUrl, fetch: options.fetch, appKey: app.appKey, appSecret: secrets.appSecret(appId) })
        : corpAccessToken({
            baseUrl,
            fetch: options.fetch,
            suiteKey: app.suiteKey,
            suiteSecret: secrets.appSecret(appId),
            authCorpId: app.authCorpId,
            suiteTicket: () => secrets.suiteTicket(appId),
          });
    providers.set(appId, createProvider(appId, fetchToken, (event) => options.onFetch?.(appId, event)));
  }
  return {
    appIds: [...providers.keys()],
    serves: (appId, identity) => identities.get(appId) === identity,
    forApp(appId) {
      const provider = providers.get(appId);
      if (!provider) throw new Error(`no DingTalk app "${appId}" in the config`);
      return provider;
    },
  };
}
