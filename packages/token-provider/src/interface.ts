/** A token ready to send as `x-acs-dingtalk-access-token`. */
export interface TokenLease {
  readonly token: string;
  /** True when the token was served from the cache without waiting for a fetch. */
  readonly fromCache: boolean;
}

/** The access token of one DingTalk app (or one ISV app for one authorizing organization). */
export interface TokenProvider {
  /** A valid token: the cached one, or a fresh one fetched once however many callers wait. */
  getToken(): Promise<TokenLease>;
  /**
   * DingTalk rejected `token` (`InvalidAuthentication`): forget it, but only if it is still
   * the cached one, so that many callers reporting the same stale token cause one refetch.
   */
  invalidate(token: string): Promise<void>;
}

/** What DingTalk's token endpoints answer. `expireIn` is in seconds and not to be trusted blindly. */
export interface FetchedToken {
  accessToken: string;
  expireIn?: number | undefined;
}

/** Calls a DingTalk token endpoint once. */
export type TokenFetcher = () => Promise<FetchedToken>;

/** No valid token could be obtained; `cause` is the last fetch's error. */
export class TokenUnavailableError extends Error {
  override readonly name = 'TokenUnavailableError';
  /** When the provider will try the token endpoint again (epoch ms). */
  readonly retryAt: number;

  constructor(cause: unknown, retryAt: number) {
    super(`no DingTalk access token could be obtained: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.retryAt = retryAt;
  }
}
