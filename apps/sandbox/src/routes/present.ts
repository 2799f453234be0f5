/**
 * Records → DingTalk's response shapes, typed with the spec's generated types so the compiler
 * checks the sandbox's answers against the spec too.
 */
import type { DriveSpace, PermissionRole, Workspace, WorkspaceDoc } from '@dingtalk-gateway/types';
import type { NodeRecord, SandboxState, SpaceRecord, WorkspaceRecord } from '../state/store.js';

/** Knowledge Base times are written to the minute by DingTalk: `2023-05-15T11:29Z`. */
export const minuteTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16)}Z`;
/** Drive times to the second: `2016-02-28T10:47:08Z`. */
export const secondTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;

const ALIDOCS = 'https://alidocs.dingtalk.com';

export function presentWorkspace(state: SandboxState, w: WorkspaceRecord, permissionRole?: PermissionRole): Workspace {
  const creator = state.users.get(w.creatorUnionId);
  const modifier = state.users.get(w.modifierUnionId);
  return {
    workspaceId: w.workspaceId,
    corpId: w.corpId,
    ...(w.teamId ? { teamId: w.teamId } : {}),
    rootNodeId: w.rootNodeId,
    name: w.name,
    type: w.type,
    ...(w.description !== undefined ? { description: w.description } : {}),
    url: `${ALIDOCS}/i/spaces/${w.workspaceId}/overview`,
    icon: { type: 'EMOJI', value: w.type === 'PERSONAL' ? '📁' : '📚' },
    ...(creator ? { creatorId: creator.userId } : {}),
    ...(modifier ? { modifierId: modifier.userId } : {}),
    createTime: minuteTime(w.createdAt),
    modifiedTime: minuteTime(w.modifiedAt),
    ...(permissionRole ? { permissionRole } : {}),
  } satisfies Workspace;
}

export function presentDoc(node: NodeRecord): WorkspaceDoc {
  return {
    workspaceId: node.workspaceId,
    nodeId: node.nodeId,
    docKey: node.docKey,
    url: `${ALIDOCS}/i/nodes/${node.nodeId}`,
    dentryUuid: node.nodeId,
  } satisfies WorkspaceDoc;
}

export function presentSpace(s: SpaceRecord): DriveSpace {
  return {
    spaceId: s.spaceId,
    spaceName: s.name,
    spaceType: 'org',
    quota: s.quota,
    usedQuota: s.usedQuota,
    permissionMode: s.permissionMode,
    createTime: secondTime(s.createdAt),
    modifyTime: secondTime(s.modifiedAt),
  } satisfies DriveSpace;
}
