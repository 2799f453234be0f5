import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createSandbox } from './app.js';
import { DEFAULT_SEED_FILE, SeedError, parseSeed, readSeedFile, seeded } from './seed.js';

const fixture = readFileSync(DEFAULT_SEED_FILE, 'utf8');
const edited = (edit: (raw: any) => void): string => {
  const raw = parse(fixture);
  edit(raw);
  return stringify(raw);
};

describe('the seed', () => {
  it('holds what the issue asks for', () => {
    const seed = readSeedFile();
    expect(Object.keys(seed.apps)).toEqual(['full', 'readOnly']);
    expect(seed.apps.readOnly?.permissions).toEqual(['Wiki.Workspace.Read']);
    expect(Object.keys(seed.suites)).toHaveLength(1);
    expect(Object.keys(seed.teams)).toHaveLength(1);
    expect(new Set(Object.values(seed.templates).map((t) => t.templateType))).toEqual(new Set(['public_template', 'team_template', 'user_template']));
    expect(Object.values(seed.workspaces).some((w) => w.type === 'PERSONAL')).toBe(true);
    expect(Object.values(seed.orgs).some((o) => !o.allowSpaceCreation)).toBe(true);
  });

  it("grants the full-access app every permission the spec's operations need", () => {
    const sandbox = createSandbox();
    const needed = [...sandbox.operations.values()].flatMap((o) => (o.permission ? [o.permission] : []));
    expect(seeded.apps.full.permissions.sort()).toEqual([...new Set(needed)].sort());
  });

  it('exports the credentials and ids by handle', () => {
    expect(seeded.apps.full).toEqual({
      appKey: 'dingsandboxfullaccess',
      appSecret: 'sandbox-full-access-secret',
      corpId: seeded.orgs.sandbox.corpId,
      permissions: expect.any(Array),
    });
    expect(seeded.users.dave.corpId).toBe(seeded.orgs.locked.corpId);
    expect(seeded.suites.isv.authCorpIds).toEqual([seeded.orgs.sandbox.corpId, seeded.orgs.locked.corpId]);
    expect(seeded.nodes.onboardingFolder).toBe('nodeOnboardingFolder000000000001');
  });

  it.each([
    ['an unknown reference', (r: any) => (r.users.alice.org = 'nowhere'), /users\.alice\.org: no orgs entry named "nowhere"/],
    ['a duplicate id', (r: any) => (r.users.bob.unionId = r.users.alice.unionId), /users: duplicate id/],
    ['a bad role', (r: any) => (r.workspaces.handbook.members.bob = 'ADMIN'), /workspaces\.handbook\.members\.bob: expected one of/],
    ['a bad time', (r: any) => (r.workspaces.handbook.createdAt = 'yesterday'), /workspaces\.handbook\.createdAt/],
    ['a missing field', (r: any) => delete r.apps.full.appSecret, /apps\.full\.appSecret/],
  ])('names the bad entry for %s', (_, edit, message) => {
    expect(() => parseSeed(edited(edit))).toThrow(SeedError);
    expect(() => parseSeed(edited(edit))).toThrow(message);
  });

  it('can be replaced by a seed object or file', () => {
    const sandbox = createSandbox({ seed: parseSeed(edited((r) => (r.orgs.sandbox.name = 'Renamed Org'))) });
    expect(sandbox.state.orgs.get(seeded.orgs.sandbox.corpId)?.name).toBe('Renamed Org');
    expect(createSandbox({ seed: DEFAULT_SEED_FILE }).state.workspaces.size).toBe(6);
  });
});
