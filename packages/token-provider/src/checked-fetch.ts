import type { FetchedToken, TokenFetcher } from './interface.js';

/** Calls `fetchToken` and refuses an answer with no token: what every provider caches must be a token. */
export async function fetchCheckedToken(fetchToken: TokenFetcher): Promise<FetchedToken & { accessToken: string }> {
  const fetched = await fetchToken();
  if (typeof fetched?.accessToken !== 'string' || fetched.accessToken === '') throw new Error('the token endpoint answered without an accessToken');
  return fetched;
}
