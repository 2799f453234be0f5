/**
 * The seed: the readable description of the sandbox's world (fixtures/seed.yaml), parsed and
 * checked before anything uses it, so a typo in the fixture fails at start with the path of the
 * bad entry instead of as a puzzling 404 in some test.
 *
 * ```ts
 * const seed = parseSeed(readFileSync('fixtures/seed.yaml', 'utf8'));
 * seed.apps.full?.appKey;
 * ```
 */
import { parse } from 'yaml';
import type { DocType, PermissionRole, TemplateType, WorkspaceType } from '@dingtalk-gateway/types';

/** Handles (the keys in the YAML) name entries; other entries refer to them by handle. */
export type Handle = string;

export interface SeedOrg {
  corpId: string;
  name: string;
  /** `false` emulates an admin who disabled creating shared Drive spaces (`addSpace.forbiden`). */
  allowSpaceCreation: boolean;
}

export interface SeedUser {
  unionId: string;
  userId: string;
  name: string;
  org: Handle;
}

export interface SeedApp {
  name: string;
  org: Handle;
  appKey: string;
  appSecret: string;
  /** Permission names as in the spec's `x-dingtalk-permission` (e.g. `Wiki.Workspace.Read`). */
  permissions: string[];
}

export interface SeedSuite {
  name: string;
  suiteKey: string;
  suiteSecret: string;
  suiteTicket: string;
  permissions: string[];
  authorizedOrgs: Handle[];
}

export interface SeedTeam {
  teamId: string;
  org: Handle;
  name: string;
  members: Record<Handle, PermissionRole>;
}

export interface SeedTemplate {
  templateId: string;
  templateType: TemplateType;
  name: string;
  docType?: DocType;
  /** For a `team_template`: only members of this team may use it. */
  team?: Handle;
  /** For a `user_template`: only this user may use it. */
  owner?: Handle;
}

export interface SeedNode {
  nodeId: string;
  name: string;
  docType: DocType;
  children?: SeedNode[];
}

export interface SeedWorkspace {
  workspaceId: string;
  rootNodeId: string;
  org: Handle;
  team?: Handle;
  type: WorkspaceType;
  name: string;
  description?: string;
  creator: Handle;
  createdAt: string;
  modifiedAt: string;
  members: Record<Handle, PermissionRole>;
  viewedAt?: Record<Handle, string>;
  deleted?: boolean;
  nodes?: SeedNode[];
}

export interface Seed {
  orgs: Record<Handle, SeedOrg>;
  users: Record<Handle, SeedUser>;
  apps: Record<Handle, SeedApp>;
  suites: Record<Handle, SeedSuite>;
  teams: Record<Handle, SeedTeam>;
  templates: Record<Handle, SeedTemplate>;
  workspaces: Record<Handle, SeedWorkspace>;
}

const ROLES = ['OWNER', 'MANAGER', 'EDITOR', 'DOWNLOADER', 'READER', 'NONE'] as const;
const DOC_TYPES = ['DOC', 'WORKBOOK', 'MIND', 'FOLDER'] as const;
const TEMPLATE_TYPES = ['public_template', 'team_template', 'user_template'] as const;
const WORKSPACE_TYPES = ['TEAM', 'PERSONAL'] as const;

export class SeedError extends Error {
  override name = 'SeedError';
}

type Raw = Record<string, unknown>;

/** Small readers that name the offending path, e.g. `workspaces.handbook.members.bob`. */
const at = (path: string, message: string): never => {
  throw new SeedError(`seed: ${path}: ${message}`);
};
const object = (value: unknown, path: string): Raw =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Raw) : at(path, 'expected a mapping');
const string = (value: unknown, path: string): string =>
  typeof value === 'string' && value.length > 0 ? value : at(path, 'expected a non-empty string');
const optionalString = (value: unknown, path: string): string | undefined => (value === undefined ? undefined : string(value, path));
const oneOf = <T extends string>(values: readonly T[], value: unknown, path: string): T =>
  values.includes(value as T) ? (value as T) : at(path, `expected one of ${values.join(', ')}`);
const time = (value: unknown, path: string): string =>
  Number.isNaN(Date.parse(string(value, path))) ? at(path, 'expected an ISO 8601 time') : (value as string);
const list = (value: unknown, path: string): unknown[] => (Array.isArray(value) ? value : at(path, 'expected a list'));
const strings = (value: unknown, path: string): string[] => list(value, path).map((v, i) => string(v, `${path}[${i}]`));
const entries = <T>(value: unknown, path: string, read: (raw: unknown, path: string) => T): Record<Handle, T> =>
  Object.fromEntries(Object.entries(value === undefined ? {} : object(value, path)).map(([k, v]) => [k, read(v, `${path}.${k}`)]));
const roles = (value: unknown, path: string) => entries(value, path, (v, p) => oneOf(ROLES, v, p));

const readNode = (value: unknown, path: string): SeedNode => {
  const raw = object(value, path);
  const children = raw.children === undefined ? undefined : list(raw.children, `${path}.children`).map((c, i) => readNode(c, `${path}.children[${i}]`));
  return {
    nodeId: string(raw.nodeId, `${path}.nodeId`),
    name: string(raw.name, `${path}.name`),
    docType: oneOf(DOC_TYPES, raw.docType, `${path}.docType`),
    ...(children ? { children } : {}),
  };
};

/** Checks that every handle an entry refers to exists, and that ids are unique. */
function checkReferences(seed: Seed): void {
  const need = (kind: keyof Seed, handle: Handle | undefined, path: string) => {
    if (handle !== undefined && !(handle in seed[kind])) at(path, `no ${kind} entry named "${handle}"`);
  };
  for (const [h, u] of Object.entries(seed.users)) need('orgs', u.org, `users.${h}.org`);
  for (const [h, a] of Object.entries(seed.apps)) need('orgs', a.org, `apps.${h}.org`);
  for (const [h, s] of Object.entries(seed.suites)) s.authorizedOrgs.forEach((o, i) => need('orgs', o, `suites.${h}.authorizedOrgs[${i}]`));
  for (const [h, t] of Object.entries(seed.teams)) {
    need('orgs', t.org, `teams.${h}.org`);
    for (const m of Object.keys(t.members)) need('users', m, `teams.${h}.members.${m}`);
  }
  for (const [h, t] of Object.entries(seed.templates)) {
    need('teams', t.team, `templates.${h}.team`);
    need('users', t.owner, `templates.${h}.owner`);
  }
  for (const [h, w] of Object.entries(seed.workspaces)) {
    need('orgs', w.org, `workspaces.${h}.org`);
    need('teams', w.team, `workspaces.${h}.team`);
    need('users', w.creator, `workspaces.${h}.creator`);
    for (const m of Object.keys(w.members)) need('users', m, `workspaces.${h}.members.${m}`);
    for (const m of Object.keys(w.viewedAt ?? {})) need('users', m, `workspaces.${h}.viewedAt.${m}`);
  }
  const unique = (kind: string, ids: string[]) => {
    const seen = new Set<string>();
    for (const id of ids) seen.has(id) ? at(kind, `duplicate id "${id}"`) : seen.add(id);
  };
  const nodeIds = (nodes: SeedNode[] = []): string[] => nodes.flatMap((n) => [n.nodeId, ...nodeIds(n.children)]);
  unique('orgs', Object.values(seed.orgs).map((o) => o.corpId));
  unique('users', Object.values(seed.users).map((u) => u.unionId));
  unique('apps', [...Object.values(seed.apps).map((a) => a.appKey), ...Object.values(seed.suites).map((s) => s.suiteKey)]);
  unique('teams', Object.values(seed.teams).map((t) => t.teamId));
  unique('templates', Object.values(seed.templates).map((t) => t.templateId));
  unique('workspaces', Object.values(seed.workspaces).map((w) => w.workspaceId));
  unique('nodes', Object.values(seed.workspaces).flatMap((w) => [w.rootNodeId, ...nodeIds(w.nodes)]));
}

/** Parses and checks seed YAML; throws a {@link SeedError} naming the first bad entry. */
export function parseSeed(yamlText: string): Seed {
  const root = object(parse(yamlText, { prettyErrors: true }), '(root)');
  const seed: Seed = {
    orgs: entries(root.orgs, 'orgs', (v, p) => {
      const raw = object(v, p);
      const allow = raw.allowSpaceCreation ?? true;
      return {
        corpId: string(raw.corpId, `${p}.corpId`),
        name: string(raw.name, `${p}.name`),
        allowSpaceCreation: typeof allow === 'boolean' ? allow : at(`${p}.allowSpaceCreation`, 'expected true or false'),
      };
    }),
    users: entries(root.users, 'users', (v, p) => {
      const raw = object(v, p);
      return {
        unionId: string(raw.unionId, `${p}.unionId`),
        userId: string(raw.userId, `${p}.userId`),
        name: string(raw.name, `${p}.name`),
        org: string(raw.org, `${p}.org`),
      };
    }),
    apps: entries(root.apps, 'apps', (v, p) => {
      const raw = object(v, p);
      return {
        name: string(raw.name, `${p}.name`),
        org: string(raw.org, `${p}.org`),
        appKey: string(raw.appKey, `${p}.appKey`),
        appSecret: string(raw.appSecret, `${p}.appSecret`),
        permissions: strings(raw.permissions ?? [], `${p}.permissions`),
      };
    }),
    suites: entries(root.suites, 'suites', (v, p) => {
      const raw = object(v, p);
      return {
        name: string(raw.name, `${p}.name`),
        suiteKey: string(raw.suiteKey, `${p}.suiteKey`),
        suiteSecret: string(raw.suiteSecret, `${p}.suiteSecret`),
        suiteTicket: string(raw.suiteTicket, `${p}.suiteTicket`),
        permissions: strings(raw.permissions ?? [], `${p}.permissions`),
        authorizedOrgs: strings(raw.authorizedOrgs ?? [], `${p}.authorizedOrgs`),
      };
    }),
    teams: entries(root.teams, 'teams', (v, p) => {
      const raw = object(v, p);
      return {
        teamId: string(raw.teamId, `${p}.teamId`),
        org: string(raw.org, `${p}.org`),
        name: string(raw.name, `${p}.name`),
        members: roles(raw.members, `${p}.members`),
      };
    }),
    templates: entries(root.templates, 'templates', (v, p) => {
      const raw = object(v, p);
      const docType = raw.docType === undefined ? undefined : oneOf(DOC_TYPES, raw.docType, `${p}.docType`);
      const team = optionalString(raw.team, `${p}.team`);
      const owner = optionalString(raw.owner, `${p}.owner`);
      return {
        templateId: string(raw.templateId, `${p}.templateId`),
        templateType: oneOf(TEMPLATE_TYPES, raw.templateType, `${p}.templateType`),
        name: string(raw.name, `${p}.name`),
        ...(docType ? { docType } : {}),
        ...(team ? { team } : {}),
        ...(owner ? { owner } : {}),
      };
    }),
    workspaces: entries(root.workspaces, 'workspaces', (v, p) => {
      const raw = object(v, p);
      const team = optionalString(raw.team, `${p}.team`);
      const description = optionalString(raw.description, `${p}.description`);
      const deleted = raw.deleted ?? false;
      return {
        workspaceId: string(raw.workspaceId, `${p}.workspaceId`),
        rootNodeId: string(raw.rootNodeId, `${p}.rootNodeId`),
        org: string(raw.org, `${p}.org`),
        ...(team ? { team } : {}),
        type: oneOf(WORKSPACE_TYPES, raw.type, `${p}.type`),
        name: string(raw.name, `${p}.name`),
        ...(description ? { description } : {}),
        creator: string(raw.creator, `${p}.creator`),
        createdAt: time(raw.createdAt, `${p}.createdAt`),
        modifiedAt: time(raw.modifiedAt, `${p}.modifiedAt`),
        members: roles(raw.members, `${p}.members`),
        viewedAt: entries(raw.viewedAt, `${p}.viewedAt`, time),
        deleted: typeof deleted === 'boolean' ? deleted : at(`${p}.deleted`, 'expected true or false'),
        nodes: list(raw.nodes ?? [], `${p}.nodes`).map((n, i) => readNode(n, `${p}.nodes[${i}]`)),
      };
    }),
  };
  checkReferences(seed);
  return seed;
}
