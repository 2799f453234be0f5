/**
 * `doc_1_0`: CreateWorkspaceDoc, a node in a Knowledge Base's tree. Checks, in order:
 * 1. the body against the spec (`validateInput`: a missing `operatorId`/`name`, a `docType` or
 *    `templateType` outside the enum, a field of the wrong type), then a blank name; every bad
 *    input is `invalidRequest.inputArgs.invalid`, the only parameter code the page lists;
 * 2. the operator: an unknown unionId is `invalidRequest.inputArgs.invalid` (the page: "check
 *    whether the unionId is valid"), a user of another org `forbidden.user.notInOrg`;
 * 3. the Knowledge Base: unknown or in another org `invalidRequest.resource.notFound`, deleted
 *    `invalidRequest.workspace.deleted`; the operator must be OWNER, MANAGER or EDITOR on it
 *    (`forbidden.accessDenied`);
 * 4. the parent: unknown in this Knowledge Base `invalidRequest.workspaceNode.parentNotFound`;
 *    it must be the root, a FOLDER or a DOC ("a folder or a regular document"), else
 *    `invalidRequest.inputArgs.invalid`;
 * 5. the template: unknown, of another `templateType`, or not usable by the operator (another
 *    team's or another user's) `invalidRequest.template.notFound`; of another docType
 *    `invalidRequest.inputArgs.invalid`;
 * 6. the name: taken by a sibling under the same parent `invalidRequest.workspaceNode.nameConflict`.
 */
import { failFor, json } from '../platform/errors.js';
import { type Handlers, type RouteDeps, inputOf } from './context.js';
import { presentDoc } from './present.js';

const WRITERS = new Set(['OWNER', 'MANAGER', 'EDITOR']);
const PARENT_TYPES = new Set(['ROOT', 'FOLDER', 'DOC']);

export function docHandlers({ state }: RouteDeps): Pick<Handlers, 'createWorkspaceDoc'> {
  return {
    createWorkspaceDoc(c) {
      const fail = failFor('createWorkspaceDoc');
      const refuse = c.get('refuseInput');
      const { body } = inputOf(c, 'createWorkspaceDoc');
      const { operatorId, docType, templateType } = body;
      const name = body.name.trim() || refuse('body.name', 'name must not be blank');
      const parentNodeId = body.parentNodeId || undefined;
      const templateId = body.templateId || undefined;

      const { corpId } = c.get('principal');
      const operator = state.users.get(operatorId) ?? refuse('body.operatorId', 'operatorId is not a valid unionId');
      if (operator.corpId !== corpId) return fail(403, 'forbidden.user.notInOrg', 'The operator is not in the organization');

      const workspace = state.workspaces.get(c.req.param('workspaceId') ?? '');
      if (!workspace || workspace.corpId !== corpId) return fail(404, 'invalidRequest.resource.notFound', 'Resource not found');
      if (workspace.deleted) return fail(404, 'invalidRequest.workspace.deleted', 'The Knowledge Base has been deleted');
      if (!WRITERS.has(state.roleOf(workspace, operatorId))) return fail(403, 'forbidden.accessDenied', 'The user does not have operation permissions');

      const parent = state.nodes.get(parentNodeId ?? workspace.rootNodeId);
      if (!parent || parent.workspaceId !== workspace.workspaceId) return fail(400, 'invalidRequest.workspaceNode.parentNotFound', 'Parent node does not exist');
      if (!PARENT_TYPES.has(parent.docType)) return refuse('body.parentNodeId', 'the parent node must be a folder or a document');

      if (templateId) {
        const template = state.templates.get(templateId);
        const usable =
          template &&
          (!templateType || template.templateType === templateType) &&
          (template.templateType !== 'team_template' || (template.teamId !== undefined && state.teams.get(template.teamId)?.members.has(operatorId))) &&
          (template.templateType !== 'user_template' || template.ownerUnionId === operatorId);
        if (!usable) return fail(400, 'invalidRequest.template.notFound', 'Document template does not exist');
        if (template.docType && template.docType !== docType) return refuse('body.templateId', `the template makes a ${template.docType}, not a ${docType}`);
      }

      if (state.childrenOf(parent.nodeId).some((n) => n.name === name)) {
        return fail(400, 'invalidRequest.workspaceNode.nameConflict', 'Knowledge Base document name conflict');
      }
      const node = state.createNode({ workspace, parentNodeId: parent.nodeId, name, docType, creator: operatorId, ...(templateId ? { templateId } : {}) });
      return json(c, presentDoc(node));
    },
  };
}
