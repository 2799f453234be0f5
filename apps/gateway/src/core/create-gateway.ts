/**
 * `createGateway(config, deps)`: the whole gateway as a Hono app, built from Web-standard APIs
 * and the dependencies it is given, so it runs and is tested without sockets and can run on
 * other runtimes. The Node entry (`adapters/node/server.ts`) wires the real ones.
 *
 * A request's way: request id → access log + metrics → API key → operation of the contract →
 * tenant's scopes → body (size limit) → validation against the spec (refused with DingTalk's
 * own status and code) → rate limits → the org's monthly call quota (metered operations) →
 * DingTalk token → DingTalk → answer, unchanged (and the call counted by it).
 *
 * ```ts
 * const gateway = createGateway(config, { upstream, secrets });
 * const response = await gateway.app.request('/v2.0/wiki/workspaces?operatorId=x', { headers: { authorization: `Bearer ${key}` } });
 * ```
 */
import { MemoryQuotaLedger, type QuotaLedger, monthOf } from '@dingtalk-gateway/call-quota';
import { MemoryRequestLimiter, type RequestLimiter } from '@dingtalk-gateway/rate-limiter';
import { type OpenApiDocument, invalidationsOf, meteringOf } from '@dingtalk-gateway/spec';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { TokenUnavailableError } from '@dingtalk-gateway/token-provider';
import { type SpecValidator, createSpecValidator } from '@dingtalk-gateway/spec-validator';
import { createGatewayContractValidator } from '@dingtalk-gateway/spec-validator/gateway-contract';
import { type Context, Hono } from 'hono';
import { stringify } from 'yaml';
import type { SecretSource } from '../config/secrets.js';
import type { GatewayConfig } from '../config/schema.js';
import type { GatewayEnv } from './context.js';
import { answer } from './answer.js';
import { API_NOT_FOUND, answerJson, dingtalkError, gatewayError } from './errors.js';
import { type Sha256Hex, createApiKeyIndex } from './keys/api-key-index.js';
import { warnOfKeyExpiries } from './keys/expiry.js';
import type { RevokedKeys } from './keys/revoked.js';
import type { GatewayTracer } from './observability/tracing.js';
import { sha256HexWeb } from './keys/sha256-web.js';
import { authenticateStep } from './steps/authenticate/index.js';
import { authorizeScopesStep } from './steps/authorize-scopes/index.js';
import { everyRequest } from './steps/every-request.js';
import { guardEgress } from './egress/guard.js';
import { IpBan } from './egress/ip-ban.js';
import { QpsQueue } from './qps/queue.js';
import { monthlyQuotaStep } from './steps/monthly-quota/index.js';
import { qpsKeyOf, qpsSlot, rateLimitSteps } from './steps/rate-limit/index.js';
import { idempotencyHandler, idempotencyKeyHeader } from './idempotency/handler.js';
import type { IdempotencyStore } from './idempotency/interface.js';
import { MemoryIdempotencyStore } from './idempotency/memory.js';
import { readCacheHandler } from './read-cache/handler.js';
import type { ReadCacheStore } from './read-cache/interface.js';
import { MemoryReadCacheStore } from './read-cache/memory.js';
import { cachePlanOf } from './read-cache/plan.js';
import { readBodyStep } from './steps/read-body/index.js';
import { routeOperationStep } from './steps/route-operation/index.js';
import { runSteps } from './steps/step.js';
import { validateRequestStep } from './steps/validate-request/index.js';
import { type GatewayLogger, consoleLogger } from './observability/logger.js';
import { type GatewayMetrics, silentMetrics } from './observability/metrics.js';
import { dingtalkProxy } from './proxy/handler.js';
import { upstreamAsFetch } from './proxy/upstream-fetch.js';
import { quotaPlan } from './quota/plan.js';
import { usageRows } from './quota/usage-report.js';
import { USAGE_PATH, usageRoute } from './quota/usage-route.js';
import type { LimitsWithCall } from './quota/limits-with-call.js';
import type { Upstream } from './proxy/upstream.js';
import { buildTenants } from './tenants.js';
import { type TokenProviderFactory, type TokenRegistry, createTokenRegistry } from './tokens/registry.js';
import type { ReloadOutcome } from './reload/reloadable.js';

export interface GatewayDeps<M extends GatewayMetrics = GatewayMetrics> {
  /** How the gateway reaches DingTalk (undici pool in production, any fetch in tests). */
  upstream: Upstream;
  secrets: SecretSource;
  /**
   * All of a request's limits in one call: the tenant's, DingTalk's QPS guard and per-IP window.
   * Default: in memory (one instance, decided without a promise); the Redis stores' is one round
   * trip shared by all instances.
   */
  requestLimiter?: RequestLimiter;
  /**
   * `requestLimiter`'s limits and `ledger`'s reservation in one store call, for a metered request
   * that goes to DingTalk once admitted (`quota/limits-with-call.ts`). Given with the two stores
   * it combines (the Redis stores'); default: none, each decides on its own.
   */
  limitsWithCall?: LimitsWithCall;
  /** Default: token providers in memory (one instance). */
  tokenProviders?: TokenProviderFactory;
  /** The read cache's store. Default: in memory (one instance), bounded by `cache.maxEntries` and `cache.maxBytes`. */
  readCacheStore?: ReadCacheStore;
  /** Where what became of POSTs with an Idempotency-Key is kept. Default: in memory (one instance). */
  idempotencyStore?: IdempotencyStore;
  /** The monthly call ledger. Default: in memory (one instance, nothing kept across a restart). */
  ledger?: QuotaLedger;
  /** How the gateway waits before sending a request to DingTalk again (backoff, DingTalk's QPS window) and its jitter. Default: real timers, `Math.random`. */
  retryTiming?: { sleep?: (ms: number) => Promise<void>; random?: () => number };
  /** The wall clock in epoch ms, for the quota month. Default `Date.now`. */
  now?: () => number;
  /** Default: JSON lines on `console.log` at `observability.logLevel` (the Node adapter passes pino). */
  logger?: GatewayLogger;
  /** Default: `silentMetrics()`, nothing kept (the Node adapter passes prom-client's, `createPrometheusMetrics`). */
  metrics?: M;
  /** Default: Web Crypto. The Node entry passes node:crypto's faster synchronous hash. */
  sha256Hex?: Sha256Hex;
  /** Default: the built gateway contract, with its validators compiled at build time. Another one is compiled by Ajv at start (not on Workers). */
  contract?: OpenApiDocument;
  /** The docs portal's pages by file name (`index.html`, …), as text or UTF-8 bytes, served under `/docs/`. */
  docsPages?: ReadonlyMap<string, string | Uint8Array>;
  /**
   * The gateway this one replaces on a reload (`reload/reloadable.ts`): its limiter, ledger, read
   * cache, Idempotency-Keys and DingTalk's ban are kept (where no store is given), and so is the
   * token provider of every app whose settings and secret did not change.
   */
  previous?: Gateway<M>;
  /** The last reload's outcome, shown on the metrics listener's `/readyz`. */
  reloadStatus?: () => ReloadOutcome | undefined;
  /** Keys revoked while the gateway runs, shared by every instance (Redis). Default: none. */
  revokedKeys?: RevokedKeys;
  /** Spans per request (OTLP in the Node adapter). Default: none, at no cost. */
  tracer?: GatewayTracer;
}

/** What a gateway holds that outlives a config: carried from one to the next on a reload. */
export interface GatewayState {
  limits: RequestLimiter;
  ipBan: IpBan;
  readCacheStore: ReadCacheStore;
  idempotencyStore: IdempotencyStore;
}

export interface Gateway<M extends GatewayMetrics = GatewayMetrics> {
  /** The public app: DingTalk's operations, `/healthz`, `/readyz`, `/docs/`, `/openapi.json|yaml`. */
  app: Hono<GatewayEnv>;
  /** `/metrics` (the metrics' scrape page, where they keep one) and `/readyz` in detail, served apart from the public app so no tenant key reaches them. */
  metricsApp: Hono;
  tokens: TokenRegistry;
  metrics: M;
  validator: SpecValidator;
  ledger: QuotaLedger;
  /** Requests waiting for DingTalk's QPS slots. */
  qpsQueue: QpsQueue;
  /** Kept across a reload (`deps.previous`). */
  state: GatewayState;
  /** Shutdown: answers the requests still waiting for a QPS slot (503, try again) rather than keeping them. */
  close(): void;
  /** Whether each app can get a DingTalk token now. */
  readiness(): Promise<{
    ready: boolean;
    apps: Record<string, 'ok' | string>;
    /** Present while DingTalk bans the egress IP: until when, and how long that is from now. */
    egress?: string;
    retryAfterMs?: number;
  }>;
}

export function createGateway<M extends GatewayMetrics = GatewayMetrics>(config: GatewayConfig, deps: GatewayDeps<M>): Gateway<M> {
  const logger = deps.logger ?? consoleLogger(config.observability.logLevel);
  const metrics = deps.metrics ?? (silentMetrics() as M);
  const contract = deps.contract ?? loadGatewayContract();
  // The built contract's validators were compiled at build time: no code is generated at run
  // time (Workers forbid it) and start-up is shorter. Another contract (tests) is compiled now.
  const validator = deps.contract ? createSpecValidator(contract) : createGatewayContractValidator();
  const previous = deps.previous;
  const ledger = deps.ledger ?? previous?.ledger ?? new MemoryQuotaLedger();
  const limits = deps.requestLimiter ?? previous?.state.limits ?? new MemoryRequestLimiter();
  const now = deps.now ?? Date.now;
  // Every call to DingTalk (API and token) passes DingTalk's per-IP guard and ban.
  const ipBan = previous?.state.ipBan ?? new IpBan({ now });
  const ipWindow = config.dingtalk.ipWindow;
  const egressWindow = ipWindow ? { key: `egress:${ipWindow.egress}`, policy: { limit: ipWindow.limit, windowMs: ipWindow.windowMs } } : undefined;
  const upstream = guardEgress(deps.upstream, {
    ban: ipBan,
    banMs: config.dingtalk.ipBanMs,
    ...(egressWindow ? { window: { limits, ...egressWindow } } : {}),
    events: {
      banned: (ban) => {
        metrics.dingtalkBans.inc();
        logger.warn(
          { until: new Date(ban.until).toISOString(), answer: ban.shape, status: ban.status, lengthFrom: ban.waitMs === undefined ? 'dingtalk.ipBanMs' : 'the answer' },
          "DingTalk bans this instance's egress IP: nothing is sent to DingTalk until the ban ends",
        );
      },
      lifted: () => logger.info("DingTalk's ban of the egress IP is over: calling DingTalk again"),
    },
  });
  metrics.dingtalkBanned.source = () => ipBan.waitMs() > 0;
  const qpsQueue = new QpsQueue({
    take: (key) => qpsSlot(limits, key, config.dingtalk.qpsLimit),
    maxWaitMs: config.dingtalk.qpsMaxWaitMs,
    maxQueued: config.dingtalk.qpsMaxQueued,
  });
  metrics.qpsQueued.source = () => qpsQueue.size;
  const plan = quotaPlan(config);
  const cachePlan = cachePlanOf(config);
  const readCacheStore =
    deps.readCacheStore ?? previous?.state.readCacheStore ?? new MemoryReadCacheStore({ maxEntries: config.cache.maxEntries, maxBytes: config.cache.maxBytes, keepInvalidationsMs: cachePlan.keepInvalidationsMs, now });
  const tenants = buildTenants(config, plan);
  metrics.quotaUsage.source = async () => usageRows(plan, await ledger.usage(monthOf(now())));
  const sha256Hex = deps.sha256Hex ?? sha256HexWeb;
  const keys = createApiKeyIndex(config, tenants, sha256Hex, {
    now,
    ...(deps.revokedKeys ? { revoked: deps.revokedKeys } : {}),
    onExpiringKeyUsed: (key) => logger.warn({ tenant: key.tenantId, key: key.hashPrefix, label: key.label, expiresAt: key.expiresAt }, 'an API key in use expires soon: mint its successor'),
  });
  warnOfKeyExpiries(config, now(), logger);
  const tokens = createTokenRegistry({
    config,
    secrets: deps.secrets,
    fetch: upstreamAsFetch(upstream),
    createProvider: deps.tokenProviders,
    ...(previous ? { previous: previous.tokens } : {}),
    onFetch: (appId, event) => {
      metrics.tokenFetches.inc({ app: appId, result: event.ok ? 'ok' : 'error' });
      if (event.ok) logger.info({ app: appId, background: event.background, durationMs: Math.round(event.durationMs) }, 'DingTalk token fetched');
      else logger.warn({ app: appId, background: event.background, error: describe(event.error) }, 'DingTalk token fetch failed');
    },
  });

  async function readiness(): ReturnType<Gateway['readiness']> {
    // Banned by DingTalk: not ready whatever the tokens (a load balancer sends callers elsewhere).
    // (Tokens are not asked for then: a fetch would only be refused.)
    const bannedMs = ipBan.waitMs();
    if (bannedMs > 0) {
      const apps = Object.fromEntries(tokens.appIds.map((appId) => [appId, 'not checked while DingTalk bans the egress IP']));
      return { ready: false, apps, egress: `banned by DingTalk until ${new Date(now() + bannedMs).toISOString()}`, retryAfterMs: bannedMs };
    }
    const apps: Record<string, string> = {};
    await Promise.all(
      tokens.appIds.map(async (appId) => {
        try {
          await tokens.forApp(appId).getToken();
          apps[appId] = 'ok';
        } catch (error) {
          apps[appId] = describe(error);
        }
      }),
    );
    return { ready: Object.values(apps).every((state) => state === 'ok'), apps };
  }

  const idempotencyStore =
    deps.idempotencyStore ?? previous?.state.idempotencyStore ?? new MemoryIdempotencyStore({ maxEntries: config.idempotency.maxEntries, maxBytes: config.idempotency.maxBytes, now });

  const app = new Hono<GatewayEnv>();
  // Logged and answered as DingTalk would: never the error's text to the caller.
  const internalError = (error: Error, c: Context<GatewayEnv>) => {
    logger.error({ requestId: c.get('requestId'), error: describe(error), stack: error.stack }, 'unhandled error');
    return gatewayError(c, 500, 'gateway.internalError', 'internal error; report it with the request id');
  };
  // Every route's handler runs inside it: the request id, the access-log line and metrics, errors answered.
  const observed = everyRequest({ logger, metrics, onError: internalError, ...(deps.tracer ? { tracer: deps.tracer } : {}) });

  app.get('/healthz', observed((c) => answerJson(c, { status: 'ok' }, 200)));
  // Public: ready or not, nothing more (app ids and DingTalk's failure reasons are operators'
  // business: they are in the logs and on the metrics listener's /readyz).
  app.get(
    '/readyz',
    observed(async (c) => {
      const state = await readiness();
      if (state.ready) return answerJson(c, { status: 'ready' }, 200);
      logger.warn({ apps: state.apps, egress: state.egress }, 'not ready');
      if (state.retryAfterMs !== undefined) {
        return gatewayError(c, 503, 'gateway.upstream.banned', "not ready: DingTalk bans this instance's egress IP", { headers: { 'retry-after': String(Math.ceil(state.retryAfterMs / 1000)) } });
      }
      return gatewayError(c, 503, 'gateway.unavailable', 'not ready: a DingTalk token cannot be obtained');
    }),
  );
  const contractJson = JSON.stringify(contract);
  // Written at its first request: YAML of the whole contract takes ~50 ms, which start-up need not wait for.
  let contractYaml: string | undefined;
  app.get('/openapi.json', observed((c) => answer(c, contractJson, 200, { 'content-type': 'application/json; charset=utf-8' })));
  app.get('/openapi.yaml', observed((c) => answer(c, (contractYaml ??= stringify(contract, { lineWidth: 0, aliasDuplicateObjects: false })), 200, { 'content-type': 'application/yaml; charset=utf-8' })));
  if (deps.docsPages) {
    // Kept as UTF-8 bytes (memory): the portal's pages are self-contained, a few MB each, and V8
    // holds such text as two bytes per character; as bytes they take about half, and are not
    // encoded again for every answer. Same bytes and content type as `c.html(page)`.
    const encoder = new TextEncoder();
    const pages = new Map([...deps.docsPages].map(([file, html]) => [file, typeof html === 'string' ? encoder.encode(html) : html]));
    app.get('/docs', observed((c) => answer(c, null, 301, { location: '/docs/' })));
    // A plain wildcard, not `:page{.*}`: a custom pattern makes Hono route every request with its
    // TrieRouter instead of the RegExpRouter (0.46 vs 0.14 µs per match, measured), and every
    // DingTalk call is routed through here first.
    app.get(
      '/docs/*',
      observed((c) => {
        const html = pages.get(c.req.path.slice('/docs/'.length) || 'index.html');
        if (html === undefined) return dingtalkError(c, 404, API_NOT_FOUND, `no docs page at ${c.req.path}`);
        return answer(c, html, 200, { 'content-type': 'text/html; charset=UTF-8' });
      }),
    );
  }

  // The gateway's own endpoint for a tenant's monthly usage (in the contract: the typed client has it).
  app.get(USAGE_PATH, observed(runSteps([authenticateStep({ keys })], usageRoute({ ledger, validator, now }))));

  // A request the read cache may answer takes DingTalk's slot only when it goes to DingTalk.
  const cached = (c: Context<GatewayEnv>) => cachePlan.enabled && c.get('operation').method === 'GET' && cachePlan.lifetimeMs(c.get('tenant').id, c.get('operation').operationId) !== undefined;
  const limitSteps = rateLimitSteps({
    limits,
    dingtalkQpsLimit: config.dingtalk.qpsLimit,
    qpsQueue,
    egressWindow,
    metrics,
    deferDingTalkSlot: cached,
    // Nothing answers a metered request between its limits and its call of the month but the read
    // cache (a deferred slot) and an Idempotency-Key's record.
    withCall: deps.limitsWithCall && { store: deps.limitsWithCall, reservesCall: (c) => c.get('operation').metered && idempotencyKeyHeader(c) === undefined, now },
  });
  const proxy = dingtalkProxy({
    upstream,
    ipBan,
    tokens,
    getRetries: config.upstream.getRetries,
    throttleRetries: config.dingtalk.throttleRetries,
    // A retry waits its turn in the queue like any request (or, not waiting at all, takes a free slot or none).
    qpsSlot: async (tenant, operationId, signal) =>
      config.dingtalk.qpsMaxWaitMs > 0
        ? (await qpsQueue.wait(qpsKeyOf(tenant, operationId), tenant.id, signal)).kind === 'admitted'
        : (await qpsSlot(limits, qpsKeyOf(tenant, operationId), config.dingtalk.qpsLimit)).allowed,
    metrics,
    metering: meteringOf(contract),
    ...deps.retryTiming,
  });
  // What a request that goes to DingTalk passes after the read cache: its slot, its call of the month, the proxy.
  const toDingTalk = runSteps([limitSteps.dingtalkSlot, monthlyQuotaStep({ ledger, metrics, logger, now })], proxy);

  // DingTalk's operations: every other path. One handler running the steps in turn (see steps/step.ts).
  app.all(
    '*',
    observed(
      runSteps(
        [
          authenticateStep({ keys }),
          routeOperationStep({ validator }),
          authorizeScopesStep(),
          readBodyStep({ maxBytes: config.server.bodyLimitBytes, validator }),
          validateRequestStep({ validator }),
          limitSteps.rateLimit,
        ],
        idempotencyHandler(
          {
            store: idempotencyStore,
            ttlMs: config.idempotency.ttlSeconds * 1000,
            inFlightMaxMs: longestRequestMs(config),
            metering: meteringOf(contract),
            sha256Hex,
            metrics,
            now,
          },
          readCacheHandler({ store: readCacheStore, plan: cachePlan, invalidations: invalidationsOf(contract), metrics, now }, toDingTalk),
        ),
      ),
    ),
  );

  // Not reached while the catch-all above answers every path; kept so that nothing goes unanswered.
  app.notFound(observed((c) => dingtalkError(c, 404, API_NOT_FOUND, `no operation at ${c.req.method} ${c.req.path}`)));
  app.onError(internalError);

  const metricsApp = new Hono();
  metricsApp.get('/metrics', async (c) => {
    const page = await metrics.expose?.();
    return page ? c.body(page.body, 200, { 'content-type': page.contentType }) : c.notFound();
  });
  metricsApp.get('/readyz', async (c) => {
    const state = await readiness();
    const { ready, apps, egress, retryAfterMs } = state;
    const reload = deps.reloadStatus?.();
    return c.json(
      { status: ready ? 'ready' : 'not ready', apps, ...(egress ? { egress } : {}), ...(reload ? { lastReload: { generation: reload.generation, at: reload.at, ok: reload.ok, message: reload.message } } : {}) },
      ready ? 200 : 503,
      ready ? {} : { 'retry-after': String(Math.max(1, Math.ceil((retryAfterMs ?? 1_000) / 1000))) },
    );
  });

  return { app, metricsApp, tokens, metrics, validator, ledger, qpsQueue, state: { limits, ipBan, readCacheStore, idempotencyStore }, readiness, close: () => qpsQueue.close() };
}

/**
 * The longest a request can be under way in the gateway: its wait for a QPS slot, every attempt
 * at DingTalk to its timeout, the waits between them. A request begun longer ago with no end is
 * taken for lost (its instance stopped).
 */
export function longestRequestMs(config: GatewayConfig): number {
  const attempts = 2 + config.upstream.getRetries + config.dingtalk.throttleRetries;
  return config.dingtalk.qpsMaxWaitMs + attempts * (config.upstream.responseTimeoutMs + 2_000) + 5_000;
}

/** `code: message` of an error, or of its cause when it only wraps one (TokenUnavailableError). */
function describe(error: unknown): string {
  const cause = error instanceof TokenUnavailableError && error.cause instanceof Error ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code !== message ? `${code}: ${message}` : message;
}
