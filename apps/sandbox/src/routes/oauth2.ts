/**
 * `oauth2_1_0`: the two token endpoints. JSON bodies only: anything else (a form body, no
 * body, broken JSON) is `400 Missingbody`, as DingTalk answers an SDK that sends a form.
 *
 * - GetAccessToken: one current token per internal app, the same one (extended) while valid.
 * - GetCorpAccessToken: a new token on every call, acting for `authCorpId` with the suite's
 *   permissions. Checks in order: suiteKey + suiteSecret (`invalidSuiteKey`), suiteTicket
 *   (`invalidSuiteTicket`), the org's authorization (`invalidAuthInfo`).
 */
import type { AccessTokenResponse } from '@dingtalk-gateway/types';
import { failFor, json } from '../platform/errors.js';
import { type Handlers, type RouteDeps, readJsonObject, stringField } from './context.js';

const MISSING_BODY_MESSAGE = 'body is mandatory for this action.';

export function oauth2Handlers({ state, tokens, counters, tokenLifetimeSeconds }: RouteDeps): Pick<Handlers, 'getAccessToken' | 'getCorpAccessToken'> {
  return {
    async getAccessToken(c) {
      const fail = failFor('getAccessToken');
      const body = (await readJsonObject(c)) ?? fail(400, 'Missingbody', MISSING_BODY_MESSAGE);
      const appKey = stringField(body, 'appKey');
      if (appKey) counters.attribute(appKey, 'getAccessToken');
      const app = appKey ? state.apps.get(appKey) : undefined;
      if (!app || app.appSecret !== stringField(body, 'appSecret')) {
        return fail(400, 'invalidClientIdOrSecret', '无效的clientId或者clientSecret');
      }
      const lifetime = tokenLifetimeSeconds();
      const issued = tokens.issueForApp({ kind: 'app', appKey: app.appKey, corpId: app.corpId, permissions: app.permissions }, lifetime);
      if (issued.fresh) counters.tokenIssued(app.appKey);
      return json(c, { accessToken: issued.token, expireIn: lifetime } satisfies AccessTokenResponse);
    },

    async getCorpAccessToken(c) {
      const fail = failFor('getCorpAccessToken');
      const body = (await readJsonObject(c)) ?? fail(400, 'Missingbody', MISSING_BODY_MESSAGE);
      const suiteKey = stringField(body, 'suiteKey');
      if (suiteKey) counters.attribute(suiteKey, 'getCorpAccessToken');
      const suite = suiteKey ? state.suites.get(suiteKey) : undefined;
      if (!suite || suite.suiteSecret !== stringField(body, 'suiteSecret')) return fail(400, 'invalidSuiteKey', 'suiteKey is invalid');
      if (suite.suiteTicket !== stringField(body, 'suiteTicket')) return fail(400, 'invalidSuiteTicket', 'suiteTicket is invalid');
      const corpId = stringField(body, 'authCorpId');
      if (!corpId || !suite.authorizedCorpIds.has(corpId)) return fail(400, 'invalidAuthInfo', 'auth info is invalid');
      const lifetime = tokenLifetimeSeconds();
      const issued = tokens.issueForSuite({ kind: 'suite', appKey: suite.suiteKey, corpId, permissions: suite.permissions }, lifetime);
      counters.tokenIssued(suite.suiteKey);
      return json(c, { accessToken: issued.token, expireIn: lifetime } satisfies AccessTokenResponse);
    },
  };
}
