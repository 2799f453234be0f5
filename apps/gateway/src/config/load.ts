/**
 * Reads and checks the config file. Every problem names the file, the line, the path in the
 * document and what was expected; the gateway refuses to start while there is one.
 *
 * ```ts
 * const config = loadConfigFile('gateway.yaml', contract); // throws ConfigError
 * ```
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type OpenApiDocument, dingtalkOperationsOf } from '@dingtalk-gateway/spec';
import { load as loadYaml } from 'js-yaml';
import { LineCounter, isNode, parseDocument } from 'yaml';
import type { z } from 'zod';
import { orgOfApp, quotaPlan } from '../core/quota/plan.js';
import { type GatewayConfig, configSchema } from './schema.js';
import { YAML_CORE_SCHEMA } from './yaml-core-schema.js';

export interface ConfigProblem {
  /** Where in the document, e.g. `tenants.wiki.rateLimit.rate`; empty for the whole file. */
  path: string;
  message: string;
  line?: number | undefined;
  column?: number | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${file}: invalid gateway config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${file}${p.line ? `:${p.line}:${p.column ?? 1}` : ''}: ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n'),
    );
  }
}

/** Reads a config file; `ledger.file` (default `ledger.json`) is resolved against the file's directory. */
export function loadConfigFile(file: string, contract: OpenApiDocument): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the file: ${(error as Error).message}` }]);
  }
  const config = parseConfig(text, file, contract);
  config.ledger.file = resolve(dirname(file), config.ledger.file ?? 'ledger.json');
  return config;
}

/**
 * Two YAML parsers, for two jobs. A valid config (the usual case) is read with js-yaml, resolving
 * scalars as YAML 1.2's core schema does, like `yaml` (`yaml-core-schema.ts`): `yaml` keeps every node's source range and a syntax tree,
 * which for 10,000 tenants took 2.3 s and over 260 MB of short-lived heap at start-up, and V8
 * kept that heap resident under load. js-yaml reads the same file in 0.15 s and ~16 MB. Anything
 * short of a valid config (a syntax error, a schema or cross-check problem) is read again with
 * `yaml`, whose source positions put a file, line and column on every problem: the answer for
 * an invalid config is exactly what it always was, and `yaml`'s reading decides.
 */
export function parseConfig(text: string, file: string, contract: OpenApiDocument): GatewayConfig {
  let data: unknown;
  try {
    data = loadYaml(text, { schema: YAML_CORE_SCHEMA });
  } catch {
    return parseConfigLocatingProblems(text, file, contract);
  }
  const parsed = configSchema.safeParse(data ?? {});
  if (!parsed.success || crossCheck(parsed.data, contract).length > 0) return parseConfigLocatingProblems(text, file, contract);
  return parsed.data;
}

/** `parseConfig` with `yaml`'s document, which knows where each value is in the file. */
function parseConfigLocatingProblems(text: string, file: string, contract: OpenApiDocument): GatewayConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      file,
      document.errors.map((error) => {
        const at = lineCounter.linePos(error.pos[0]);
        return { path: '', message: `not valid YAML: ${error.message.split('\n')[0]}`, line: at.line, column: at.col };
      }),
    );
  }
  const locate = (path: PropertyKey[]): Pick<ConfigProblem, 'line' | 'column'> => {
    // Point at the deepest node that exists: a missing key is reported where it belongs.
    for (let depth = path.length; depth >= 0; depth--) {
      const node = document.getIn(path.slice(0, depth) as unknown[], true);
      if (isNode(node) && node.range) {
        const { line, col } = lineCounter.linePos(node.range[0]);
        return { line, column: col };
      }
    }
    return {};
  };

  const parsed = configSchema.safeParse(document.toJS() ?? {});
  if (!parsed.success) {
    throw new ConfigError(file, parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: describeIssue(issue), ...locate(issue.path) })));
  }
  const problems = crossCheck(parsed.data, contract).map((p) => ({ path: formatPath(p.path), message: p.message, ...locate(p.path) }));
  if (problems.length > 0) throw new ConfigError(file, problems);
  return parsed.data;
}

/** What only the whole config and the contract together can tell. */
function crossCheck(config: GatewayConfig, contract: OpenApiDocument): Array<{ path: PropertyKey[]; message: string }> {
  const problems: Array<{ path: PropertyKey[]; message: string }> = [];
  // Scopes and limits are about DingTalk's operations, not the gateway's own endpoints.
  const operations = [...dingtalkOperationsOf(contract)].map((o) => o.operation);
  const permissions = new Set(operations.map((o) => o['x-dingtalk-permission']).filter((p): p is string => typeof p === 'string'));
  const operationIds = new Set(operations.map((o) => o.operationId));
  const keyOwners = new Map<string, string>();

  const orgIds = config.orgs ? Object.keys(config.orgs) : undefined;
  for (const [appId, app] of Object.entries(config.apps)) {
    if (app.org !== undefined && !(orgIds ?? []).includes(app.org)) {
      problems.push({ path: ['apps', appId, 'org'], message: orgIds ? `no org "${app.org}" under orgs (known: ${orgIds.join(', ')})` : `no org "${app.org}": there are no orgs (add it under orgs)` });
    } else if (orgOfApp(config, appId) === undefined) {
      problems.push({ path: ['apps', appId, 'org'], message: `required with several orgs: which org's monthly quota this app's calls spend (one of ${orgIds!.join(', ')})` });
    }
  }
  for (const org of quotaPlan(config).orgs.values()) {
    if (org.allocated > org.quota) {
      const allocations = org.tenants.filter((t) => config.tenants[t]!.monthlyAllocation !== undefined).map((t) => `${t} ${String(config.tenants[t]!.monthlyAllocation)}`);
      problems.push({
        path: config.orgs ? ['orgs', org.id, 'monthlyCallQuota'] : [],
        message: `the tenants' monthly allocations add up to ${org.allocated} calls, more than the ${org.quota} of org "${org.id}" (${allocations.join(', ')})`,
      });
    }
  }

  // Only DingTalk's reads have answers to keep.
  const readIds = new Set([...dingtalkOperationsOf(contract)].filter((o) => o.method === 'get').map((o) => o.operation.operationId));
  const notARead = (operationId: string) => `"${operationId}" is not a GET operation of DingTalk's; answers of ${[...readIds].sort().join(', ')} can be cached`;
  for (const operationId of Object.keys(config.cache.operations)) {
    if (!readIds.has(operationId)) problems.push({ path: ['cache', 'operations', operationId], message: notARead(operationId) });
  }

  for (const [tenantId, tenant] of Object.entries(config.tenants)) {
    if (!Object.hasOwn(config.apps, tenant.app)) {
      problems.push({ path: ['tenants', tenantId, 'app'], message: `no app "${tenant.app}" under apps (known: ${Object.keys(config.apps).join(', ')})` });
    }
    tenant.scopes.forEach((scope, i) => {
      if (!permissions.has(scope)) {
        problems.push({ path: ['tenants', tenantId, 'scopes', i], message: `unknown scope "${scope}"; expected one of ${[...permissions].sort().join(', ')}` });
      }
    });
    for (const operationId of Object.keys(tenant.operationLimits ?? {})) {
      if (!operationIds.has(operationId)) {
        problems.push({ path: ['tenants', tenantId, 'operationLimits', operationId], message: `unknown operation "${operationId}"; expected one of ${[...operationIds].sort().join(', ')}` });
      }
    }
    for (const operationId of Object.keys(tenant.cache ?? {})) {
      if (!readIds.has(operationId)) problems.push({ path: ['tenants', tenantId, 'cache', operationId], message: notARead(operationId) });
    }
    tenant.apiKeys.forEach((key, i) => {
      const owner = keyOwners.get(key.sha256);
      if (owner !== undefined) {
        problems.push({ path: ['tenants', tenantId, 'apiKeys', i, 'sha256'], message: `this key hash is already listed under tenants.${owner}` });
      }
      keyOwners.set(key.sha256, tenantId);
    });
  }
  return problems;
}

function formatPath(path: PropertyKey[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type':
      return /received undefined$/.test(issue.message) ? `required (${issue.expected})` : issue.message.replace(/^Invalid input: /, '');
    default:
      return issue.message;
  }
}
