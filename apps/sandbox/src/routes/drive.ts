/**
 * `drive_1_0`: AddSpace, a shared space of the token's org. Checks, in order:
 * - the body against the spec (`validateInput`): a missing `name` or `unionId` (or one that is
 *   not a string, or an empty unionId) is `param.error`, an empty name `name.invalid`;
 * - a present but unusable name is `name.invalid` (the spec's code for a refused name): blank,
 *   longer than {@link MAX_SPACE_NAME_LENGTH}, or with a character Drive forbids in names
 *   (`\ / : * ? " < > |`);
 * - an unknown unionId is `param.error`, a user of another org `no.priviledge`;
 * - an org whose admin disabled shared spaces answers `addSpace.forbiden` (DingTalk's spelling).
 * Space names need not be unique (DingTalk does not say they must).
 */
import { failFor, json } from '../platform/errors.js';
import { type Handlers, type RouteDeps, inputOf } from './context.js';
import { presentSpace } from './present.js';

/** DingTalk publishes no limit; 50 is the sandbox's choice, so that `name.invalid` is reachable. */
export const MAX_SPACE_NAME_LENGTH = 50;
const FORBIDDEN_CHARACTERS = /[\\/:*?"<>|]/;

export function driveHandlers({ state }: RouteDeps): Pick<Handlers, 'addSpace'> {
  return {
    addSpace(c) {
      const fail = failFor('addSpace');
      const refuse = c.get('refuseInput');
      const { name, unionId } = inputOf(c, 'addSpace').body;
      const trimmed = name.trim();
      if (!trimmed || trimmed.length > MAX_SPACE_NAME_LENGTH || FORBIDDEN_CHARACTERS.test(trimmed)) {
        return refuse('body.name', 'Space name is invalid.');
      }
      const { corpId } = c.get('principal');
      const user = state.users.get(unionId) ?? refuse('body.unionId', 'Invalid Param: unionId is invalid');
      if (user.corpId !== corpId) return fail(400, 'no.priviledge', 'You are not authorized to perform this operation.');
      if (!state.orgs.get(corpId)?.allowSpaceCreation) return fail(400, 'addSpace.forbiden', 'Add space is forbiden.');
      return json(c, presentSpace(state.addSpace({ corpId, name: trimmed, owner: unionId })));
    },
  };
}
