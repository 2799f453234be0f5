/**
 * `drive_1_0`: AddSpace, a shared space of the token's org. Checks, in order:
 * - a missing `name` or `unionId` (or one that is not a string) is `param.error`;
 * - a present but unusable name is `name.invalid`: empty or blank, longer than
 *   {@link MAX_SPACE_NAME_LENGTH}, or with a character Drive forbids in names (`\ / : * ? " < > |`);
 * - an unknown unionId is `param.error`, a user of another org `no.priviledge`;
 * - an org whose admin disabled shared spaces answers `addSpace.forbiden` (DingTalk's spelling).
 * Space names need not be unique (DingTalk does not say they must).
 */
import { failFor, json } from '../platform/errors.js';
import { type Handlers, type RouteDeps, readJsonObject } from './context.js';
import { presentSpace } from './present.js';

/** DingTalk publishes no limit; 50 is the sandbox's choice, so that `name.invalid` is reachable. */
export const MAX_SPACE_NAME_LENGTH = 50;
const FORBIDDEN_CHARACTERS = /[\\/:*?"<>|]/;

export function driveHandlers({ state }: RouteDeps): Pick<Handlers, 'addSpace'> {
  return {
    async addSpace(c) {
      const fail = failFor('addSpace');
      const body = (await readJsonObject(c)) ?? {};
      const { name, unionId } = body;
      if (typeof name !== 'string') return fail(400, 'param.error', 'Invalid Param: name is required');
      if (typeof unionId !== 'string' || unionId === '') return fail(400, 'param.error', 'Invalid Param: unionId is required');
      const trimmed = name.trim();
      if (!trimmed || trimmed.length > MAX_SPACE_NAME_LENGTH || FORBIDDEN_CHARACTERS.test(trimmed)) {
        return fail(400, 'name.invalid', 'Space name is invalid.');
      }
      const { corpId } = c.get('principal');
      const user = state.users.get(unionId) ?? fail(400, 'param.error', 'Invalid Param: unionId is invalid');
      if (user.corpId !== corpId) return fail(400, 'no.priviledge', 'You are not authorized to perform this operation.');
      if (!state.orgs.get(corpId)?.allowSpaceCreation) return fail(400, 'addSpace.forbiden', 'Add space is forbiden.');
      return json(c, presentSpace(state.addSpace({ corpId, name: trimmed, owner: unionId })));
    },
  };
}
