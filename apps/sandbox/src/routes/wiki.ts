/**
 * `wiki_2_0`: Knowledge Bases. Runs after the platform checks (token, permission, QPS) and the
 * input's check against the spec; checks DingTalk's own rules about values first (400, the
 * spec's code for the field), then the operator (`permissionDenied`, 403: unknown unionId or
 * not in the token's org), then the resources.
 *
 * What a user sees: the TEAM Knowledge Bases of the token's org, not deleted, on which the user
 * has a role other than `NONE`. PERSONAL ones (My Docs) are never listed and GetWorkspace
 * answers `isNotWorkspace` for them.
 */
import type { ListWorkspacesResponse, PermissionRole, WorkspaceOrderBy, WorkspaceResponse } from '@dingtalk-gateway/types';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { SandboxEnv } from '../platform/env.js';
import { failFor, json } from '../platform/errors.js';
import type { SandboxState, UserRecord, WorkspaceRecord } from '../state/store.js';
import { type Handlers, type RouteDeps, inputOf } from './context.js';
import { type Cursor, type SortKey, compareKeys, decodeCursor, encodeCursor, sortsBefore } from './cursor.js';
import { presentWorkspace } from './present.js';

/** DingTalk does not say; the first documented order (and the page's own example) it is. */
export const DEFAULT_ORDER_BY: WorkspaceOrderBy = 'VIEW_TIME_DESC';
/** Limits DingTalk does not publish, chosen so `paramError.name`/`.description` are reachable. */
export const MAX_NAME_LENGTH = 100;
export const MAX_DESCRIPTION_LENGTH = 200;

type WikiOperation = 'addWorkspace' | 'getWorkspace' | 'listWorkspaces';
/** The code every wiki operation documents for the operator; each operation's own `fail` fits this. */
type Fail = (status: ContentfulStatusCode, code: 'permissionDenied', message: string) => never;

/** The operator must be a user of the org the token acts for. */
const memberOf = (state: SandboxState, c: Context<SandboxEnv>, unionId: string, fail: Fail): UserRecord => {
  const user = state.users.get(unionId);
  if (!user || user.corpId !== c.get('principal').corpId) return fail(403, 'permissionDenied', 'the operator is not a member of the organization');
  return user;
};

const sortKey = (w: WorkspaceRecord, orderBy: WorkspaceOrderBy, operator: string): SortKey => {
  const primary = orderBy === 'CREATE_TIME_DESC' ? w.createdAt : orderBy === 'MODIFIED_TIME_DESC' ? w.modifiedAt : (w.viewedAt.get(operator) ?? 0);
  return [primary, w.createdAt, w.workspaceId];
};

export function wikiHandlers({ state, cursorSecret }: RouteDeps): Pick<Handlers, WikiOperation> {
  return {
    addWorkspace(c) {
      const fail = failFor('addWorkspace');
      const refuse = c.get('refuseInput');
      const { query, body } = inputOf(c, 'addWorkspace');
      const operator = query.operatorId;
      const name = body.name.trim() || refuse('body.name', 'name must not be blank');
      if (name.length > MAX_NAME_LENGTH) refuse('body.name', `name is too long (at most ${MAX_NAME_LENGTH} characters)`);
      const { description, teamId } = body.option ?? {};
      if (description !== undefined && description.length > MAX_DESCRIPTION_LENGTH) {
        refuse('body.option.description', `description is too long (at most ${MAX_DESCRIPTION_LENGTH} characters)`);
      }

      const { corpId } = c.get('principal');
      memberOf(state, c, operator, fail);
      if (teamId) {
        // The page documents no 404 for AddWorkspace, so an unknown team is a parameter error here.
        const team = state.teams.get(teamId);
        if (!team || team.corpId !== corpId) return refuse('body.option.teamId', 'teamId is invalid: the team does not exist');
        const role = team.members.get(operator) ?? 'NONE';
        if (!['OWNER', 'MANAGER', 'EDITOR'].includes(role)) return fail(403, 'permissionDenied', 'no permission to create a Knowledge Base in this team');
      }
      const workspace = state.addWorkspace({
        corpId,
        name,
        creator: operator,
        ...(description ? { description } : {}),
        ...(teamId ? { teamId } : {}),
      });
      return json(c, { workspace: presentWorkspace(state, workspace, 'OWNER') } satisfies WorkspaceResponse);
    },

    getWorkspace(c) {
      const fail = failFor('getWorkspace');
      const { operatorId: operator, withPermissionRole } = inputOf(c, 'getWorkspace').query;
      memberOf(state, c, operator, fail);
      const workspace = state.workspaces.get(c.req.param('workspaceId') ?? '');
      if (!workspace || workspace.deleted || workspace.corpId !== c.get('principal').corpId) {
        return fail(404, 'workspaceNotExist', 'workspace does not exist');
      }
      if (workspace.type !== 'TEAM') return fail(400, 'isNotWorkspace', 'not a workspace: My Docs is not a Knowledge Base');
      const role = state.roleOf(workspace, operator);
      if (role === 'NONE') return fail(403, 'permissionDenied', 'no permission to view this Knowledge Base');
      state.markViewed(workspace, operator);
      return json(c, { workspace: presentWorkspace(state, workspace, withPermissionRole ? role : undefined) } satisfies WorkspaceResponse);
    },

    listWorkspaces(c) {
      const fail = failFor('listWorkspaces');
      const input = inputOf(c, 'listWorkspaces').query;
      const { operatorId: operator, teamId, withPermissionRole } = input;
      // The spec's default (30) is filled in by validateInput.
      const maxResults = input.maxResults!;
      const orderBy = input.orderBy ?? DEFAULT_ORDER_BY;
      const query = JSON.stringify([orderBy, teamId ?? '', operator]);
      let cursor: Cursor | undefined;
      if (input.nextToken) {
        cursor = decodeCursor(cursorSecret, input.nextToken);
        if (!cursor || cursor.query !== query) return c.get('refuseInput')('query.nextToken', 'nextToken is invalid');
      }

      const { corpId } = c.get('principal');
      memberOf(state, c, operator, fail);
      if (teamId) {
        const team = state.teams.get(teamId);
        if (!team || team.corpId !== corpId) return fail(404, 'teamNotExist', 'team does not exist');
      }
      const visible = state
        .workspacesOf(corpId)
        .filter((w) => !w.deleted && w.type === 'TEAM' && (!teamId || w.teamId === teamId) && state.roleOf(w, operator) !== 'NONE')
        .map((w) => ({ w, key: sortKey(w, orderBy, operator) }))
        .filter(({ key }) => !cursor || sortsBefore(cursor.key, key))
        .sort((a, b) => compareKeys(a.key, b.key));
      const page = visible.slice(0, maxResults);
      const last = page.at(-1);
      const role = (w: WorkspaceRecord): PermissionRole | undefined => (withPermissionRole ? state.roleOf(w, operator) : undefined);
      return json(c, {
        workspaces: page.map(({ w }) => presentWorkspace(state, w, role(w))),
        ...(visible.length > page.length && last ? { nextToken: encodeCursor(cursorSecret, { query, key: last.key }) } : {}),
      } satisfies ListWorkspacesResponse);
    },
  };
}
