/**
 * One token provider per DingTalk app of the config, built at start.
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
}): TokenRegistry {
  const { config, secrets } = options;
  const createProvider = options.createProvider ?? memoryTokenProviders;
  const baseUrl = config.upstream.baseUrl;
  const providers = new Map<string, TokenProvider>();
  for (const [appId, app] of Object.entries(config.apps)) {
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
    forApp(appId) {
      const provider = providers.get(appId);
      if (!provider) throw new Error(`no DingTalk app "${appId}" in the config`);
      return provider;
    },
  };
}
