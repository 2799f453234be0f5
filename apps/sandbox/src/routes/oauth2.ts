/**
 * `oauth2_1_0`: the two token endpoints. JSON bodies only: anything else (a form body, no
 * body, broken JSON) is `400 Missingbody`, as DingTalk answers an SDK that sends a form, and a
 * missing or empty credential the code of a wrong one (`validateInput`, from the spec).
 *
 * - GetAccessToken: one current token per internal app, the same one (extended) while valid.
 * - GetCorpAccessToken: a new token on every call, acting for `authCorpId` with the suite's
 *   permissions. Checks in order: suiteKey + suiteSecret (`invalidSuiteKey`), suiteTicket
 *   (`invalidSuiteTicket`), the org's authorization (`invalidAuthInfo`).
 */
import type { AccessTokenResponse } from '@dingtalk-gateway/types';
import { failFor, json } from '../platform/errors.js';
import { type Handlers, type RouteDeps, inputOf } from './context.js';

export function oauth2Handlers({ state, tokens, counters, tokenLifetimeSeconds }: RouteDeps): Pick<Handlers, 'getAccessToken' | 'getCorpAccessToken'> {
  return {
    getAccessToken(c) {
      const fail = failFor('getAccessToken');
      const { appKey, appSecret } = inputOf(c, 'getAccessToken').body;
      counters.attribute(appKey, 'getAccessToken');
      const app = state.apps.get(appKey);
      if (!app || app.appSecret !== appSecret) {
        return fail(400, 'invalidClientIdOrSecret', '无效的clientId或者clientSecret');
      }
      const lifetime = tokenLifetimeSeconds();
      const issued = tokens.issueForApp({ kind: 'app', appKey: app.appKey, corpId: app.corpId, permissions: app.permissions }, lifetime);
      if (issued.fresh) counters.tokenIssued(app.appKey);
      return json(c, { accessToken: issued.token, expireIn: lifetime } satisfies AccessTokenResponse);
    },

    getCorpAccessToken(c) {
      const fail = failFor('getCorpAccessToken');
      const { suiteKey, suiteSecret, suiteTicket, authCorpId: corpId } = inputOf(c, 'getCorpAccessToken').body;
      counters.attribute(suiteKey, 'getCorpAccessToken');
      const suite = state.suites.get(suiteKey);
      if (!suite || suite.suiteSecret !== suiteSecret) return fail(400, 'invalidSuiteKey', 'suiteKey is invalid');
      if (suite.suiteTicket !== suiteTicket) return fail(400, 'invalidSuiteTicket', 'suiteTicket is invalid');
      if (!suite.authorizedCorpIds.has(corpId)) return fail(400, 'invalidAuthInfo', 'auth info is invalid');
      const lifetime = tokenLifetimeSeconds();
      const issued = tokens.issueForSuite({ kind: 'suite', appKey: suite.suiteKey, corpId, permissions: suite.permissions }, lifetime);
      counters.tokenIssued(suite.suiteKey);
      return json(c, { accessToken: issued.token, expireIn: lifetime } satisfies AccessTokenResponse);
    },
  };
}
