/**
 * Token fetchers for DingTalk's two token endpoints, as `TokenFetcher`s for a provider.
 *
 * ```ts
 * const fetchToken = internalAppToken({ baseUrl: 'https://api.dingtalk.com', appKey, appSecret });
 * ```
 */
import { DingTalkError } from '@dingtalk-gateway/errors';
import type { GetAccessTokenRequest, GetCorpAccessTokenRequest } from '@dingtalk-gateway/types';
import type { FetchedToken, TokenFetcher } from './interface.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

interface CommonOptions {
  /** Default `https://api.dingtalk.com`. */
  baseUrl?: string;
  fetch?: FetchLike;
  /** Abort the token call after this long. Default 10 s. */
  timeoutMs?: number;
}

export const DINGTALK_BASE_URL = 'https://api.dingtalk.com';

/** `POST /v1.0/oauth2/accessToken` for an internal app. */
export function internalAppToken(options: CommonOptions & { appKey: string; appSecret: string }): TokenFetcher {
  return () =>
    postForToken(options, '/v1.0/oauth2/accessToken', {
      appKey: options.appKey,
      appSecret: options.appSecret,
    } satisfies GetAccessTokenRequest);
}

/**
 * `POST /v1.0/oauth2/corpAccessToken` for a third-party (ISV) app acting for `authCorpId`.
 * `suiteTicket` is read at every fetch: DingTalk pushes a new one about every 5 hours.
 */
export function corpAccessToken(
  options: CommonOptions & { suiteKey: string; suiteSecret: string; authCorpId: string; suiteTicket: () => string | Promise<string> },
): TokenFetcher {
  return async () =>
    postForToken(options, '/v1.0/oauth2/corpAccessToken', {
      suiteKey: options.suiteKey,
      suiteSecret: options.suiteSecret,
      authCorpId: options.authCorpId,
      suiteTicket: await options.suiteTicket(),
    } satisfies GetCorpAccessTokenRequest);
}

async function postForToken(options: CommonOptions, path: string, body: object): Promise<FetchedToken> {
  const fetchImpl = options.fetch ?? (globalThis.fetch as FetchLike);
  const url = new URL(path, options.baseUrl ?? DINGTALK_BASE_URL).toString();
  const response = await fetchImpl(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  if (!response.ok) throw await DingTalkError.fromResponse(response);
  const parsed = (await response.json()) as Partial<FetchedToken>;
  if (typeof parsed.accessToken !== 'string') {
    throw new DingTalkError({ status: response.status, code: 'invalidTokenResponse', message: `${path} answered without an accessToken` });
  }
  return { accessToken: parsed.accessToken, expireIn: parsed.expireIn };
}
