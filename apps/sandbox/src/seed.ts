/**
 * The sandbox's default seed (fixtures/seed.yaml) and the credentials and ids in it, for other
 * packages' tests: import them instead of hard-coding secrets and ids that may change.
 *
 * ```ts
 * import { seeded } from '@dingtalk-gateway/sandbox/seed';
 * const { appKey, appSecret } = seeded.apps.full;
 * const operatorId = seeded.users.alice.unionId;
 * ```
 */
import { type Seed, SeedError } from './state/seed.js';
import { readSeedFile } from './state/seed-file.js';

export { type Seed, SeedError, parseSeed } from './state/seed.js';
export type { SeedApp, SeedNode, SeedOrg, SeedSuite, SeedTeam, SeedTemplate, SeedUser, SeedWorkspace } from './state/seed.js';
export { DEFAULT_SEED_FILE, readSeedFile } from './state/seed-file.js';

export interface AppCredentials {
  appKey: string;
  appSecret: string;
  corpId: string;
  permissions: string[];
}

export interface SuiteCredentials {
  suiteKey: string;
  suiteSecret: string;
  suiteTicket: string;
  /** The orgs that authorized the suite, as `authCorpId` values. */
  authCorpIds: string[];
}

export interface SeededUser {
  unionId: string;
  userId: string;
  name: string;
  corpId: string;
}

export interface SeededWorkspace {
  workspaceId: string;
  rootNodeId: string;
  name: string;
}

/** The entries of the default seed by their handle, with what tests need of each. */
export interface SeededCredentials {
  orgs: { sandbox: { corpId: string }; locked: { corpId: string } };
  apps: { full: AppCredentials; readOnly: AppCredentials };
  suites: { isv: SuiteCredentials };
  users: { alice: SeededUser; bob: SeededUser; carol: SeededUser; dave: SeededUser };
  teams: { engineering: { teamId: string } };
  templates: { weeklyReport: { templateId: string }; retro: { templateId: string }; aliceBudget: { templateId: string } };
  workspaces: {
    handbook: SeededWorkspace;
    roadmap: SeededWorkspace;
    designSystem: SeededWorkspace;
    alicePersonal: SeededWorkspace;
    archived: SeededWorkspace;
    lockedWiki: SeededWorkspace;
  };
  /** Nodes of the handbook: a folder with a doc inside, and a doc at the root. */
  nodes: { onboardingFolder: string; dayOneDoc: string; architectureDoc: string };
}

/** Picks the entries the handles name; throws when the seed lacks one. */
export function seededCredentials(seed: Seed = readSeedFile()): SeededCredentials {
  const pick = <T>(kind: keyof Seed, handle: string): T => {
    const entry = (seed[kind] as Record<string, T>)[handle];
    if (!entry) throw new SeedError(`seed: ${kind}.${handle} is missing (the default seed's handles are part of the package API)`);
    return entry;
  };
  const corpOf = (org: string) => pick<Seed['orgs'][string]>('orgs', org).corpId;
  const app = (h: string): AppCredentials => {
    const a = pick<Seed['apps'][string]>('apps', h);
    return { appKey: a.appKey, appSecret: a.appSecret, corpId: corpOf(a.org), permissions: [...a.permissions] };
  };
  const user = (h: string): SeededUser => {
    const u = pick<Seed['users'][string]>('users', h);
    return { unionId: u.unionId, userId: u.userId, name: u.name, corpId: corpOf(u.org) };
  };
  const workspace = (h: string): SeededWorkspace => {
    const w = pick<Seed['workspaces'][string]>('workspaces', h);
    return { workspaceId: w.workspaceId, rootNodeId: w.rootNodeId, name: w.name };
  };
  const template = (h: string) => ({ templateId: pick<Seed['templates'][string]>('templates', h).templateId });
  const isv = pick<Seed['suites'][string]>('suites', 'isv');
  const handbookNodes = pick<Seed['workspaces'][string]>('workspaces', 'handbook').nodes ?? [];
  const nodeNamed = (name: string): string => {
    const walk = (nodes: typeof handbookNodes): string | undefined => {
      for (const n of nodes) {
        if (n.name === name) return n.nodeId;
        const found = walk(n.children ?? []);
        if (found) return found;
      }
      return undefined;
    };
    return walk(handbookNodes) ?? pick('workspaces', `handbook node "${name}"`);
  };
  return {
    orgs: { sandbox: { corpId: corpOf('sandbox') }, locked: { corpId: corpOf('locked') } },
    apps: { full: app('full'), readOnly: app('readOnly') },
    suites: {
      isv: { suiteKey: isv.suiteKey, suiteSecret: isv.suiteSecret, suiteTicket: isv.suiteTicket, authCorpIds: isv.authorizedOrgs.map(corpOf) },
    },
    users: { alice: user('alice'), bob: user('bob'), carol: user('carol'), dave: user('dave') },
    teams: { engineering: { teamId: pick<Seed['teams'][string]>('teams', 'engineering').teamId } },
    templates: { weeklyReport: template('weeklyReport'), retro: template('retro'), aliceBudget: template('aliceBudget') },
    workspaces: {
      handbook: workspace('handbook'),
      roadmap: workspace('roadmap'),
      designSystem: workspace('designSystem'),
      alicePersonal: workspace('alicePersonal'),
      archived: workspace('archived'),
      lockedWiki: workspace('lockedWiki'),
    },
    nodes: { onboardingFolder: nodeNamed('Onboarding'), dayOneDoc: nodeNamed('Day one'), architectureDoc: nodeNamed('Architecture') },
  };
}

/** The default seed's credentials and ids (read once, when this module loads). */
export const seeded: SeededCredentials = seededCredentials();
