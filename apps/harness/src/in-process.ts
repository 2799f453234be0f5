/**
 * The gateway in front of an in-process sandbox, with no socket: for integration tests that
 * drive the whole request path and read the sandbox's counters.
 */
import { Writable } from 'node:stream';
import { type Sandbox, type SandboxOptions, createSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { createMemoryTokenProvider } from '@dingtalk-gateway/token-provider';
import { pino } from 'pino';
import { type GatewayConfig, configSchema, type SecretSource, type Gateway, type GatewayDeps, createGateway, mintApiKey, sha256Hex, type PrometheusMetrics, createPrometheusMetrics, createFetchUpstream, type TokenProviderFactory } from '@dingtalk-gateway/gateway';

export const SANDBOX_ORIGIN = 'http://sandbox.test';

export interface Harness {
  gateway: Gateway<PrometheusMetrics>;
  sandbox: Sandbox;
  config: GatewayConfig;
  /** API keys by tenant: `full` (every scope, app `full`), `reader` (read scope, app `full`), `other` (every scope, app `full`), `isv` (ISV app). */
  keys: Record<'full' | 'reader' | 'other' | 'isv', string>;
  /** Every request that reached the sandbox, as the sandbox saw it. */
  upstreamRequests: Array<{ method: string; path: string; headers: Headers; body: string }>;
  /** Every log line, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Raw log output, to search for secrets. */
  rawLogs: () => string;
  call(path: string, init?: RequestInit & { key?: string | null }): Promise<Response>;
  /** Moves the clock of the token providers, the quota month and the sandbox together. */
  advance(ms: number): void;
}

export interface HarnessOptions {
  sandbox?: SandboxOptions;
  /** Deep-merged into the test config before validation. */
  config?: Record<string, unknown>;
  deps?: Partial<GatewayDeps<PrometheusMetrics>>;
}

export const operatorId = seeded.users.alice.unionId;

export function createHarness(options: HarnessOptions = {}): Harness {
  let clock = Date.now();
  const now = () => clock;
  // DingTalk's 20 QPS would refuse the bursts most tests send; the QPS tests set it back.
  const sandbox = createSandbox({ now, qpsLimit: 100_000, ...options.sandbox });
  const keys = { full: mintApiKey(), reader: mintApiKey(), other: mintApiKey(), isv: mintApiKey() };
  const allScopes = ['Wiki.Workspace.Read', 'Wiki.Workspace.Write', 'Document.WorkspaceDocument.Write', 'Drive.Space.Write'];
  const config = configSchema.parse(
    merge(
      {
        upstream: { baseUrl: SANDBOX_ORIGIN, responseTimeoutMs: 2_000 },
        dingtalk: { qpsLimit: 100_000 },
        apps: {
          full: { type: 'internal', appKey: seeded.apps.full.appKey, appSecretEnv: 'FULL_SECRET' },
          isv: { type: 'isv', suiteKey: seeded.suites.isv.suiteKey, suiteSecretEnv: 'ISV_SECRET', authCorpId: seeded.orgs.sandbox.corpId, suiteTicket: { env: 'ISV_TICKET' } },
        },
        tenants: {
          full: { name: 'Full', app: 'full', apiKeys: [{ sha256: keys.full.sha256 }], scopes: allScopes, rateLimit: { rate: 1000, burst: 1000 } },
          reader: { name: 'Reader', app: 'full', apiKeys: [{ sha256: keys.reader.sha256 }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 1000, burst: 1000 } },
          other: { name: 'Other', app: 'full', apiKeys: [{ sha256: keys.other.sha256 }], scopes: allScopes, rateLimit: { rate: 1000, burst: 1000 } },
          isv: { name: 'ISV', app: 'isv', apiKeys: [{ sha256: keys.isv.sha256 }], scopes: allScopes, rateLimit: { rate: 1000, burst: 1000 } },
        },
        observability: { logLevel: 'info' },
      },
      options.config ?? {},
    ),
  );
  const secrets: SecretSource = {
    appSecret: (appId) => (appId === 'isv' ? seeded.suites.isv.suiteSecret : seeded.apps.full.appSecret),
    suiteTicket: async () => seeded.suites.isv.suiteTicket,
  };

  const upstreamRequests: Harness['upstreamRequests'] = [];
  const upstream = createFetchUpstream({
    baseUrl: SANDBOX_ORIGIN,
    responseTimeoutMs: config.upstream.responseTimeoutMs,
    maxResponseBytes: config.upstream.maxResponseBytes,
    fetch: async (request) => {
      const body = request.method === 'GET' ? '' : await request.clone().text();
      upstreamRequests.push({ method: request.method, path: new URL(request.url).pathname + new URL(request.url).search, headers: request.headers, body });
      return sandbox.app.fetch(request);
    },
  });

  let raw = '';
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _encoding, done) {
        raw += String(chunk);
        done();
      },
    }),
  );
  const tokenProviders: TokenProviderFactory = (_appId, fetchToken, onFetch) => createMemoryTokenProvider({ fetchToken, onFetch, now });
  const gateway = createGateway(config, { upstream, secrets, logger, sha256Hex, tokenProviders, now, metrics: createPrometheusMetrics(), ...options.deps });

  return {
    gateway,
    sandbox,
    config,
    keys: { full: keys.full.key, reader: keys.reader.key, other: keys.other.key, isv: keys.isv.key },
    upstreamRequests,
    get logs() {
      return raw.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    rawLogs: () => raw,
    call(path, init = {}) {
      const { key = keys.full.key, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${key}`);
      return Promise.resolve(gateway.app.request(path, { ...rest, headers }));
    },
    advance(ms) {
      clock += ms;
    },
  };
}

function merge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

export const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
