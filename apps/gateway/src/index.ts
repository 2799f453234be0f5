/**
 * The DingTalk gateway as a library: `createGateway` (Web-standard core, any runtime) and
 * `startGateway` (Node, with the real dependencies).
 */
export { createGateway, type Gateway, type GatewayDeps } from './core/create-gateway.js';
export { startGateway, type RunningGateway, type StartGatewayOptions } from './adapters/node/server.js';
export { loadConfigFile, parseConfig, ConfigError, type ConfigProblem } from './config/load.js';
export { waitUntilListening } from './cli/listening.js';
export { installShutdown } from './adapters/node/shutdown.js';
export { configSchema, type GatewayConfig, type AppConfig, type TenantConfig } from './config/schema.js';
export { secretsFromEnvironment, MissingSecretError, type SecretSource } from './config/secrets.js';
export { mintApiKey, sha256Hex, API_KEY_PREFIX } from './adapters/node/api-key.js';
export { createFetchUpstream } from './core/proxy/fetch-upstream.js';
export { createUndiciUpstream } from './adapters/node/undici-upstream.js';
export { createRedisStores, type RedisStores } from './adapters/node/redis-stores.js';
export { UpstreamError, type Upstream, type UpstreamRequest, type UpstreamResponse } from './core/proxy/upstream.js';
export { type GatewayMetrics, silentMetrics } from './core/observability/metrics.js';
export { type GatewayLogger, consoleLogger } from './core/observability/logger.js';
export { createPrometheusMetrics, type PrometheusMetrics } from './adapters/node/prometheus-metrics.js';
export { memoryTokenProviders, type TokenProviderFactory, type TokenRegistry } from './core/tokens/registry.js';
export { CACHE_NAME } from './core/read-cache/handler.js';
