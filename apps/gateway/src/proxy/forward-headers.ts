/**
 * Which request headers go to DingTalk. The caller's API key never does; neither does a
 * DingTalk token the caller may have sent (the gateway attaches its own), nor anything that
 * describes the caller's connection or network.
 */
import { HOP_BY_HOP_HEADERS } from './upstream.js';

export const ACCESS_TOKEN_HEADER = 'x-acs-dingtalk-access-token';

const NEVER_FORWARDED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP_HEADERS,
  'host',
  'authorization',
  ACCESS_TOKEN_HEADER,
  'content-length',
  'cookie',
  'expect',
  // The caller's network, as proxies describe it.
  'forwarded',
  'via',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  // The gateway must read DingTalk's answers (to spot InvalidAuthentication): ask for them plain.
  'accept-encoding',
]);

export function forwardedRequestHeaders(incoming: Headers): Record<string, string> {
  const named = new Set((incoming.get('connection') ?? '').split(',').map((token) => token.trim().toLowerCase()));
  const out: Record<string, string> = {};
  incoming.forEach((value, name) => {
    if (!NEVER_FORWARDED.has(name) && !named.has(name) && !name.startsWith('x-forwarded-')) out[name] = value;
  });
  out['accept-encoding'] = 'identity';
  return out;
}
