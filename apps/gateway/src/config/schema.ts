/**
 * The gateway's configuration file, as a zod schema: the one description of what a valid
 * config is, from which its TypeScript type is inferred.
 *
 * Cross-references (a tenant's app, its scopes, operation ids) are checked against the
 * spec by `loadConfig`, which knows the contract.
 */
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the name of an environment variable');

export const rateLimitPolicySchema = z.strictObject({
  /** Requests per second, sustained. */
  rate: z.number().positive(),
  /** Requests admitted at once from idle. */
  burst: positiveInt,
});

const idKey = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected lowercase letters, digits, ".", "_" or "-"');

/** The org an app belongs to (an id under `orgs`): its calls count towards that org's month. */
const appOrg = idKey.optional();

const internalAppSchema = z.strictObject({
  type: z.literal('internal'),
  org: appOrg,
  appKey: z.string().min(1),
  /** The name of the environment variable that holds the appSecret; never the secret itself. */
  appSecretEnv: envName,
});

const isvAppSchema = z.strictObject({
  type: z.literal('isv'),
  /** The org it acts for (`authCorpId`'s), whose month its calls spend. */
  org: appOrg,
  suiteKey: z.string().min(1),
  suiteSecretEnv: envName,
  /** The organization that authorized the ISV app; the gateway acts for it. */
  authCorpId: z.string().min(1),
  /** Where the latest suiteTicket (pushed by DingTalk about every 5 hours) is read at every token fetch. */
  suiteTicket: z.union([z.strictObject({ env: envName }), z.strictObject({ file: z.string().min(1) })]),
});

/** An instant as ISO 8601 with its zone (`Z` or an offset): read the same on every machine. */
const isoInstant = z.iso.datetime({ offset: true, error: 'expected an instant as ISO 8601 with its zone, e.g. 2027-03-01T00:00:00Z' });

export const apiKeyHashSchema = z.strictObject({
  /** Hex SHA-256 of the API key, as printed by `dingtalk-gateway mint-key`. */
  sha256: z
    .string({ error: (issue) => (issue.input === undefined ? undefined : 'expected a quoted string of 64 hex characters (YAML reads an unquoted hash of digits as a number)') })
    .regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters (the SHA-256 of the key)'),
  /** A note for humans, e.g. when the key was minted and for whom. */
  label: z.string().optional(),
  /** The key is refused before this instant (ISO 8601 with a zone, e.g. `2027-01-01T00:00:00Z`). */
  notBefore: isoInstant.optional(),
  /** The key is refused from this instant on, as an unknown key is (`mint-key --expires 90d` sets it). */
  expiresAt: isoInstant.optional(),
}).refine((key) => key.notBefore === undefined || key.expiresAt === undefined || Date.parse(key.notBefore) < Date.parse(key.expiresAt), {
  message: 'notBefore must be before expiresAt',
  path: ['expiresAt'],
});

const tenantSchema = z.strictObject({
  name: z.string().min(1),
  /** The id of the DingTalk app (under `apps`) this tenant's calls use. */
  app: z.string().min(1),
  /** Several keys per tenant so keys can rotate. */
  apiKeys: z.array(apiKeyHashSchema).min(1),
  /** DingTalk permission names (`x-dingtalk-permission` in the spec), e.g. `Wiki.Workspace.Read`. */
  scopes: z.array(z.string().min(1)).min(1),
  rateLimit: rateLimitPolicySchema,
  /** Tighter limits for single operations, by operationId. */
  operationLimits: z.record(z.string(), rateLimitPolicySchema).optional(),
  /**
   * The tenant's own calls of its org's month: a number, or a share of the org's quota
   * (`"25%"`). Reserved for it, and its cap. Without one, the tenant shares the org's pool (the
   * quota less every allocation) with the other tenants without one, first come.
   */
  monthlyAllocation: z.union([z.number().int().min(0), z.string().regex(/^(100|[1-9]?\d)(\.\d+)?%$/, 'expected a whole number of calls, or a share of the org\'s quota such as "25%"')]).optional(),
  /** The tenant's own answer-cache lifetimes, by GET operation, over `cache.operations`; `false`: none for it. */
  cache: z.record(z.string(), z.union([z.literal(false), z.lazy(() => cacheLifetimeSchema)])).optional(),
});

/** How long a DingTalk answer may be served from the read cache. */
const cacheLifetimeSchema = z.strictObject({ ttlSeconds: z.number().int().min(1).max(86_400) });

/** DingTalk's standard edition: 10,000 metered calls per org per month. */
export const STANDARD_MONTHLY_CALL_QUOTA = 10_000;

const orgSchema = z.strictObject({
  /** The org's corpId, shown by `usage`. */
  corpId: z.string().min(1).optional(),
  /** Metered calls per calendar month (China Standard Time): 10,000 on the standard edition. Raise it when the edition is upgraded. */
  monthlyCallQuota: z.number().int().min(0).default(STANDARD_MONTHLY_CALL_QUOTA),
});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8787),
      /** Largest request body accepted; larger → 413. */
      bodyLimitBytes: positiveInt.default(1024 * 1024),
      /** On SIGTERM, in-flight requests get this long to finish. */
      shutdownGraceMs: positiveInt.default(10_000),
      /** A request's headers must arrive within this; else 408 (slow clients hold a socket each). */
      headersTimeoutMs: positiveInt.default(10_000),
      /** A whole request, headers and body, must arrive within this; else 408. */
      requestTimeoutMs: positiveInt.default(30_000),
      /** Larger request headers → 431. */
      maxHeaderBytes: positiveInt.default(16 * 1024),
    })
    .prefault({}),
  upstream: z
    .strictObject({
      baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.dingtalk.com'),
      connectTimeoutMs: positiveInt.default(3_000),
      /** Until the whole answer is received; over it → 504. */
      responseTimeoutMs: positiveInt.default(10_000),
      /** Keep-alive connections to DingTalk. */
      connections: positiveInt.default(128),
      /** Extra attempts for a GET after a connection error or a 5xx (never for a POST). */
      getRetries: z.number().int().min(0).max(5).default(2),
      /** Larger answers are refused with 502 rather than buffered. */
      maxResponseBytes: positiveInt.default(10 * 1024 * 1024),
    })
    .prefault({}),
  dingtalk: z
    .strictObject({
      /** DingTalk's per-app, per-API QPS limit (20 on the standard edition, 60 with the add-on). */
      qpsLimit: positiveInt.default(20),
      /** Over it, how long a request may wait for a slot before `429 gateway.rateLimit.dingtalkQps`. */
      qpsMaxWaitMs: z.number().int().min(0).max(30_000).default(1_500),
      /** How many requests may wait for the slots of one app and operation; beyond, refused at once. */
      qpsMaxQueued: positiveInt.default(1_000),
      /** How many more times a request DingTalk refused for QPS (`QpsLimitForAppkeyAndApi`, `QpsLimitForApi`) is sent, each after DingTalk's window. */
      throttleRetries: z.number().int().min(0).max(5).default(2),
      /**
       * DingTalk's limit per egress IP (10,000 calls in 20 s over every API, then a ban), kept by
       * the instances that share `egress` (one window in Redis with several instances). `false`
       * when each instance has an egress IP of its own and no other software shares it.
       */
      ipWindow: z
        .union([
          z.literal(false),
          z.strictObject({
            /** DingTalk's 10,000, less room for the token fetches (not held back) and the odd call in flight. */
            limit: positiveInt.default(9_900),
            windowMs: positiveInt.default(20_000),
            /** Instances naming the same egress share one window: name one per egress IP. */
            egress: idKey.default('default'),
          }),
        ])
        .prefault({}),
      /** How long DingTalk's ban of the egress IP lasts when its answer does not say (5 minutes). */
      ipBanMs: positiveInt.default(300_000),
    })
    .prefault({}),
  /**
   * DingTalk orgs and their monthly call quotas. Absent: every app belongs to one org, `default`,
   * with the standard edition's 10,000 calls. With one org, apps need not name it.
   */
  orgs: z.record(idKey, orgSchema).refine((orgs) => Object.keys(orgs).length > 0, 'expected at least one org').optional(),
  apps: z.record(idKey, z.discriminatedUnion('type', [internalAppSchema, isvAppSchema])).refine((apps) => Object.keys(apps).length > 0, 'expected at least one app'),
  tenants: z.record(idKey, tenantSchema).refine((tenants) => Object.keys(tenants).length > 0, 'expected at least one tenant'),
  /**
   * Shared state for several instances: tokens and rate limits in Redis. Absent: everything in
   * memory (one instance).
   */
  redis: z
    .strictObject({
      /** `redis://[:password@]host:port/db`. Use `urlEnv` when the URL holds a password. */
      url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL').optional(),
      /** The name of the environment variable holding the URL. */
      urlEnv: envName.optional(),
      keyPrefix: z.string().default('dtg:'),
      /** Timeout of a rate-limit decision in Redis; past it the `whenDown` policy answers. */
      timeoutMs: positiveInt.default(50),
      /** Timeout of a token read or write in Redis; past it the instance fetches tokens alone. */
      tokenTimeoutMs: positiveInt.default(250),
      /**
       * Rate limits while Redis is slow or down: `local` limits per instance (default: callers
       * keep working, no tenant runs unlimited; with N instances a tenant can get up to N× its
       * rate), `open` admits everything, `closed` refuses with 503.
       */
      whenDown: z.enum(['local', 'open', 'closed']).default('local'),
    })
    .refine((redis) => (redis.url === undefined) !== (redis.urlEnv === undefined), 'expected exactly one of url and urlEnv')
    .optional(),
  /**
   * The read cache: which GET operations' answers are kept, and how long (none by default). The
   * store is Redis when `redis` is set, else this instance's memory, bounded by `maxEntries` and
   * `maxBytes` (least recently used out first).
   */
  cache: z
    .strictObject({
      operations: z.record(z.string(), cacheLifetimeSchema).default({}),
      maxEntries: positiveInt.default(10_000),
      maxBytes: positiveInt.default(64 * 1024 * 1024),
    })
    .prefault({}),
  /**
   * POSTs sent with an `Idempotency-Key`: what became of each is kept `ttlSeconds` (24 h), in
   * Redis when `redis` is set, else in this instance's memory, bounded by `maxEntries` and `maxBytes`.
   */
  idempotency: z
    .strictObject({
      ttlSeconds: z.number().int().min(60).max(7 * 86_400).default(86_400),
      maxEntries: positiveInt.default(100_000),
      maxBytes: positiveInt.default(64 * 1024 * 1024),
    })
    .prefault({}),
  /** The monthly call ledger of one instance without Redis (with Redis, the counts are in Redis). */
  ledger: z
    .strictObject({
      /**
       * The file the counts are kept in, relative to the config file's directory; default
       * `ledger.json` beside it (a config made in code, with no file: counts in memory only).
       */
      file: z.string().min(1).optional(),
      /** Counts are written at most this often: a crash loses at most this long's counts. */
      flushEveryMs: positiveInt.default(1_000),
    })
    .prefault({}),
  observability: z
    .strictObject({
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /** Prometheus metrics on their own listener, so tenants' keys never reach them. */
      metrics: z
        .strictObject({
          enabled: z.boolean().default(true),
          host: z.string().default('127.0.0.1'),
          port: z.number().int().min(0).max(65535).default(9464),
        })
        .prefault({}),
      /**
       * Where the audit log goes (JSON lines, appended): the start, every reload with what it
       * changed, every revocation seen, the stop. Default: stdout beside the access log, each
       * line tagged `"log":"audit"`. Audit lines are written whatever `logLevel` is.
       */
      auditFile: z.string().min(1).optional(),
      /**
       * OpenTelemetry spans, exported over OTLP/HTTP (JSON) to `otlpEndpoint`: one per request
       * with children for the limits, the token and each call to DingTalk. Off when absent.
       */
      tracing: z
        .strictObject({
          otlpEndpoint: z.url({ protocol: /^https?$/, error: 'expected the http(s) URL of an OTLP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces' }),
          serviceName: z.string().min(1).default('dingtalk-gateway'),
        })
        .optional(),
    })
    .prefault({}),
});

export type GatewayConfig = z.infer<typeof configSchema>;
export type AppConfig = GatewayConfig['apps'][string];
export type TenantConfig = GatewayConfig['tenants'][string];
export type RateLimitPolicy = z.infer<typeof rateLimitPolicySchema>;
export type OrgConfig = z.infer<typeof orgSchema>;
