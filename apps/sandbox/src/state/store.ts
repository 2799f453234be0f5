/**
 * The sandbox's in-memory world: orgs, users, apps, teams, templates, Knowledge Bases with
 * their node trees, and Drive spaces. Built from a {@link Seed}; `reset()` rebuilds it.
 *
 * The store only keeps data consistent (ids, trees, timestamps). Which request is allowed to do
 * what, and which DingTalk error code answers it, is the routes' job.
 *
 * ```ts
 * const state = new SandboxState(seed, Date.now);
 * const ws = state.addWorkspace({ corpId, name: 'Docs', creator: alice.unionId });
 * state.createNode({ workspace: ws, parent: state.rootOf(ws), name: 'Intro', docType: 'DOC', creator });
 * ```
 */
import type { DocType, PermissionRole, TemplateType, WorkspaceType } from '@dingtalk-gateway/types';
import { randomBase62 } from './ids.js';
import type { Seed, SeedNode } from './seed.js';

export interface OrgRecord {
  corpId: string;
  name: string;
  allowSpaceCreation: boolean;
}

export interface UserRecord {
  unionId: string;
  userId: string;
  name: string;
  corpId: string;
}

export interface AppRecord {
  appKey: string;
  appSecret: string;
  name: string;
  corpId: string;
  permissions: ReadonlySet<string>;
}

export interface SuiteRecord {
  suiteKey: string;
  suiteSecret: string;
  suiteTicket: string;
  name: string;
  permissions: ReadonlySet<string>;
  authorizedCorpIds: ReadonlySet<string>;
}

export interface TeamRecord {
  teamId: string;
  corpId: string;
  name: string;
  members: Map<string, PermissionRole>;
}

export interface TemplateRecord {
  templateId: string;
  templateType: TemplateType;
  name: string;
  docType?: DocType;
  teamId?: string;
  ownerUnionId?: string;
}

export interface WorkspaceRecord {
  workspaceId: string;
  corpId: string;
  teamId?: string;
  rootNodeId: string;
  name: string;
  type: WorkspaceType;
  description?: string;
  creatorUnionId: string;
  modifierUnionId: string;
  /** Epoch milliseconds. */
  createdAt: number;
  modifiedAt: number;
  deleted: boolean;
  /** The permission role of each member, by unionId; everyone else has `NONE`. */
  members: Map<string, PermissionRole>;
  /** When each user last opened it (GetWorkspace), for `orderBy=VIEW_TIME_DESC`. */
  viewedAt: Map<string, number>;
}

export type NodeType = DocType | 'ROOT';

export interface NodeRecord {
  nodeId: string;
  workspaceId: string;
  /** Absent on a Knowledge Base's root node only. */
  parentNodeId?: string;
  name: string;
  docType: NodeType;
  docKey: string;
  templateId?: string;
  creatorUnionId: string;
  createdAt: number;
}

export interface SpaceRecord {
  spaceId: string;
  corpId: string;
  name: string;
  ownerUnionId: string;
  quota: number;
  usedQuota: number;
  permissionMode: 'acl' | 'custom';
  createdAt: number;
  modifiedAt: number;
}

/** A new org space gets 100 GiB; DingTalk's real quota depends on the edition. */
const SPACE_QUOTA_BYTES = 100 * 1024 ** 3;

export class SandboxState {
  readonly orgs = new Map<string, OrgRecord>();
  readonly users = new Map<string, UserRecord>();
  readonly apps = new Map<string, AppRecord>();
  readonly suites = new Map<string, SuiteRecord>();
  readonly teams = new Map<string, TeamRecord>();
  readonly templates = new Map<string, TemplateRecord>();
  readonly workspaces = new Map<string, WorkspaceRecord>();
  readonly nodes = new Map<string, NodeRecord>();
  readonly spaces = new Map<string, SpaceRecord>();
  /** Drive space ids are numeric strings on DingTalk; counting keeps them short and unique. */
  #nextSpaceId = 0;

  constructor(
    private readonly seed: Seed,
    private readonly now: () => number,
  ) {
    this.reset();
  }

  /** Back to exactly the seed. */
  reset(): void {
    for (const map of [this.orgs, this.users, this.apps, this.suites, this.teams, this.templates, this.workspaces, this.nodes, this.spaces]) {
      map.clear();
    }
    this.#nextSpaceId = 20_000_001;
    const { seed } = this;
    const corpOf = (org: string) => seed.orgs[org]!.corpId;
    const unionOf = (user: string) => seed.users[user]!.unionId;
    const roleMap = (members: Record<string, PermissionRole>) => new Map(Object.entries(members).map(([u, r]) => [unionOf(u), r]));

    for (const o of Object.values(seed.orgs)) this.orgs.set(o.corpId, { ...o });
    for (const u of Object.values(seed.users)) this.users.set(u.unionId, { unionId: u.unionId, userId: u.userId, name: u.name, corpId: corpOf(u.org) });
    for (const a of Object.values(seed.apps)) {
      this.apps.set(a.appKey, { appKey: a.appKey, appSecret: a.appSecret, name: a.name, corpId: corpOf(a.org), permissions: new Set(a.permissions) });
    }
    for (const s of Object.values(seed.suites)) {
      this.suites.set(s.suiteKey, {
        suiteKey: s.suiteKey,
        suiteSecret: s.suiteSecret,
        suiteTicket: s.suiteTicket,
        name: s.name,
        permissions: new Set(s.permissions),
        authorizedCorpIds: new Set(s.authorizedOrgs.map(corpOf)),
      });
    }
    for (const t of Object.values(seed.teams)) this.teams.set(t.teamId, { teamId: t.teamId, corpId: corpOf(t.org), name: t.name, members: roleMap(t.members) });
    for (const t of Object.values(seed.templates)) {
      this.templates.set(t.templateId, {
        templateId: t.templateId,
        templateType: t.templateType,
        name: t.name,
        ...(t.docType ? { docType: t.docType } : {}),
        ...(t.team ? { teamId: seed.teams[t.team]!.teamId } : {}),
        ...(t.owner ? { ownerUnionId: unionOf(t.owner) } : {}),
      });
    }
    for (const w of Object.values(seed.workspaces)) {
      const creator = unionOf(w.creator);
      const createdAt = Date.parse(w.createdAt);
      const workspace: WorkspaceRecord = {
        workspaceId: w.workspaceId,
        corpId: corpOf(w.org),
        ...(w.team ? { teamId: seed.teams[w.team]!.teamId } : {}),
        rootNodeId: w.rootNodeId,
        name: w.name,
        type: w.type,
        ...(w.description ? { description: w.description } : {}),
        creatorUnionId: creator,
        modifierUnionId: creator,
        createdAt,
        modifiedAt: Date.parse(w.modifiedAt),
        deleted: w.deleted ?? false,
        members: roleMap(w.members),
        viewedAt: new Map(Object.entries(w.viewedAt ?? {}).map(([u, t]) => [unionOf(u), Date.parse(t)])),
      };
      this.workspaces.set(workspace.workspaceId, workspace);
      this.#putNode({ nodeId: w.rootNodeId, workspaceId: w.workspaceId, name: w.name, docType: 'ROOT', creatorUnionId: creator, createdAt });
      const plant = (nodes: SeedNode[], parentNodeId: string) => {
        for (const n of nodes) {
          this.#putNode({ nodeId: n.nodeId, workspaceId: w.workspaceId, parentNodeId, name: n.name, docType: n.docType, creatorUnionId: creator, createdAt });
          plant(n.children ?? [], n.nodeId);
        }
      };
      plant(w.nodes ?? [], w.rootNodeId);
    }
  }

  #putNode(node: Omit<NodeRecord, 'docKey'>): NodeRecord {
    const record: NodeRecord = { ...node, docKey: randomBase62(20) };
    this.nodes.set(record.nodeId, record);
    return record;
  }

  /** The role of a user on a Knowledge Base: its membership, else `NONE`. */
  roleOf(workspace: WorkspaceRecord, unionId: string): PermissionRole {
    return workspace.members.get(unionId) ?? 'NONE';
  }

  /** Knowledge Bases of an org, deleted ones included (callers decide what "exists" means). */
  workspacesOf(corpId: string): WorkspaceRecord[] {
    return [...this.workspaces.values()].filter((w) => w.corpId === corpId);
  }

  childrenOf(nodeId: string): NodeRecord[] {
    return [...this.nodes.values()].filter((n) => n.parentNodeId === nodeId);
  }

  /**
   * Creates a TEAM Knowledge Base with its root node. In a team, the team's members become
   * members with their team role; the creator is always OWNER.
   */
  addWorkspace(input: { corpId: string; name: string; creator: string; description?: string; teamId?: string }): WorkspaceRecord {
    const now = this.now();
    const members = new Map(input.teamId ? this.teams.get(input.teamId)?.members : undefined);
    members.set(input.creator, 'OWNER');
    const workspace: WorkspaceRecord = {
      workspaceId: randomBase62(16),
      corpId: input.corpId,
      ...(input.teamId ? { teamId: input.teamId } : {}),
      rootNodeId: randomBase62(32),
      name: input.name,
      type: 'TEAM',
      ...(input.description ? { description: input.description } : {}),
      creatorUnionId: input.creator,
      modifierUnionId: input.creator,
      createdAt: now,
      modifiedAt: now,
      deleted: false,
      members,
      viewedAt: new Map(),
    };
    this.workspaces.set(workspace.workspaceId, workspace);
    this.#putNode({ nodeId: workspace.rootNodeId, workspaceId: workspace.workspaceId, name: input.name, docType: 'ROOT', creatorUnionId: input.creator, createdAt: now });
    return workspace;
  }

  /** Creates a node under `parentNodeId` and marks the Knowledge Base modified by the creator. */
  createNode(input: { workspace: WorkspaceRecord; parentNodeId: string; name: string; docType: DocType; creator: string; templateId?: string }): NodeRecord {
    const now = this.now();
    const node = this.#putNode({
      nodeId: randomBase62(32),
      workspaceId: input.workspace.workspaceId,
      parentNodeId: input.parentNodeId,
      name: input.name,
      docType: input.docType,
      ...(input.templateId ? { templateId: input.templateId } : {}),
      creatorUnionId: input.creator,
      createdAt: now,
    });
    input.workspace.modifiedAt = now;
    input.workspace.modifierUnionId = input.creator;
    return node;
  }

  markViewed(workspace: WorkspaceRecord, unionId: string): void {
    workspace.viewedAt.set(unionId, this.now());
  }

  addSpace(input: { corpId: string; name: string; owner: string }): SpaceRecord {
    const now = this.now();
    const space: SpaceRecord = {
      spaceId: String(this.#nextSpaceId++),
      corpId: input.corpId,
      name: input.name,
      ownerUnionId: input.owner,
      quota: SPACE_QUOTA_BYTES,
      usedQuota: 0,
      permissionMode: 'acl',
      createdAt: now,
      modifiedAt: now,
    };
    this.spaces.set(space.spaceId, space);
    return space;
  }

  /** A compact, JSON-friendly view for the admin API and debugging. */
  summary() {
    return {
      orgs: [...this.orgs.values()],
      workspaces: [...this.workspaces.values()].map((w) => ({
        workspaceId: w.workspaceId,
        corpId: w.corpId,
        name: w.name,
        type: w.type,
        deleted: w.deleted,
        teamId: w.teamId,
        nodes: [...this.nodes.values()].filter((n) => n.workspaceId === w.workspaceId).length,
      })),
      spaces: [...this.spaces.values()],
    };
  }
}
