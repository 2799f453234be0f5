/**
 * Direct mode: call DingTalk itself with an internal app's `appKey`/`appSecret`. The client
 * fetches, caches and refreshes the access token with the same token provider the gateway
 * uses (one fetch at a time, refresh ahead of expiry). When DingTalk answers
 * `InvalidAuthentication`, the client drops that token, gets a fresh one and sends the request
 * once more, safe because DingTalk refused the request before acting on it. It keeps DingTalk's
 * per-app, per-API QPS limit as the gateway does: calls paced under it, and a QPS refusal waited
 * out and sent again, POSTs included (`dingtalk-limits.ts`).
 *
 * ```ts
 * const dingtalk = createDirectClient({ appKey: process.env.DINGTALK_APP_KEY!, appSecret: process.env.DINGTALK_APP_SECRET! });
 * const page = await dingtalk.GET('/v2.0/wiki/workspaces', { params: { query: { operatorId } } });
 * ```
 */
import { DingTalkError } from '@dingtalk-gateway/errors';
import {
  DINGTALK_BASE_URL,
  type TokenProvider,
  TokenUnavailableError,
  createMemoryTokenProvider,
  internalAppToken,
} from '@dingtalk-gateway/token-provider';
import type { DingTalkPaths } from '@dingtalk-gateway/types';
import { type DingTalkClient, type FetchFn, type PathsOf, createThrowingClient } from './client.js';
import { type DingTalkLimitsOptions, dingtalkLimits } from './dingtalk-limits.js';

export const ACCESS_TOKEN_HEADER = 'x-acs-dingtalk-access-token';

export type DirectClientOptions = {
  /** Default `https://api.dingtalk.com`. */
  baseUrl?: string;
  fetch?: FetchFn;
  headers?: Record<string, string>;
  /** DingTalk's per-app, per-API QPS limit, and its refusals' retries (default 20 and 2). */
  limits?: DingTalkLimitsOptions;
} & (
  | { appKey: string; appSecret: string; tokenProvider?: undefined }
  /** Bring your own provider, e.g. one for an ISV app (`corpAccessToken`) or a shared Redis one. */
  | { tokenProvider: TokenProvider; appKey?: undefined; appSecret?: undefined }
);

export type DirectClient = DingTalkClient<PathsOf<DingTalkPaths>>;

export function createDirectClient(options: DirectClientOptions): DirectClient {
  const baseUrl = options.baseUrl ?? DINGTALK_BASE_URL;
  const send: FetchFn = options.fetch ?? ((request) => fetch(request));
  const tokens =
    options.tokenProvider ??
    createMemoryTokenProvider({
      fetchToken: internalAppToken({
        baseUrl,
        appKey: options.appKey,
        appSecret: options.appSecret,
        fetch: (url, init) => send(new Request(url, init)),
      }),
    });

  const withToken = async (request: Request, token: string) => {
    request.headers.set(ACCESS_TOKEN_HEADER, token);
    return send(request);
  };

  const fetchWithToken: FetchFn = async (request) => {
    const replay = request.clone();
    const { token } = await leaseToken(tokens);
    const response = await withToken(request, token);
    if (response.status !== 400 || (await errorCode(response)) !== 'InvalidAuthentication') return response;
    await tokens.invalidate(token);
    const fresh = await leaseToken(tokens);
    return withToken(replay, fresh.token);
  };

  return createThrowingClient<PathsOf<DingTalkPaths>>({ baseUrl, fetch: fetchWithToken, headers: options.headers, wrap: dingtalkLimits(options.limits) });
}

/** A token, or the token endpoint's own error (e.g. `invalidClientIdOrSecret`) when there is one. */
async function leaseToken(tokens: TokenProvider) {
  try {
    return await tokens.getToken();
  } catch (error) {
    if (error instanceof TokenUnavailableError && error.cause instanceof DingTalkError) throw error.cause;
    throw error;
  }
}

async function errorCode(response: Response): Promise<string | undefined> {
  try {
    return DingTalkError.fromBody(response.status, await response.clone().text()).code;
  } catch {
    return undefined;
  }
}
