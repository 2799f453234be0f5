/**
 * The first lines of a gateway config in front of the sandbox, as the real-process suites write
 * it: the listener, the sandbox as DingTalk (its QPS limit out of the way), its app `full` (the
 * secret in `FULL_SECRET`), then `tenants:` for the suite's own tenants and settings to follow.
 *
 * ```ts
 * const yaml = [...sandboxConfigHead(sandbox.url, '{ port: 0, shutdownGraceMs: 2000 }'), `  team: { … }`, 'observability: { … }'].join('\n');
 * ```
 */
import { seeded } from '@dingtalk-gateway/sandbox/seed';

export function sandboxConfigHead(sandboxUrl: string, server = '{ port: 0 }'): string[] {
  return [
    `server: ${server}`,
    `upstream: { baseUrl: '${sandboxUrl}' }`,
    'dingtalk: { qpsLimit: 100000 }',
    'apps:',
    `  full: { type: internal, appKey: ${seeded.apps.full.appKey}, appSecretEnv: FULL_SECRET }`,
    'tenants:',
  ];
}
