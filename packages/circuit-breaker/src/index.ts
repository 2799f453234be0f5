/**
 * `@dingtalk-gateway/circuit-breaker`: what the gateway's shared stores do about a backing store
 * (Redis) that cannot answer. Every call gets a deadline (`withDeadline`), and a store with a
 * fallback sends its calls there while the backing store is down, probing it at most once per
 * interval (`Circuit`). Used by the request limits (`@dingtalk-gateway/rate-limiter`), the
 * monthly call ledger (`@dingtalk-gateway/call-quota`), the Redis token provider
 * (`@dingtalk-gateway/token-provider/redis`) and the gateway's read cache and Idempotency-Key
 * records. No dependencies and Web-standard only: it runs wherever the gateway's core does.
 *
 * ```ts
 * import { Circuit, withDeadline } from '@dingtalk-gateway/circuit-breaker';
 *
 * class RedisDown extends Error {}
 * const circuit = new Circuit({ outage: RedisDown, onTrip: () => log.warn('Redis down; tokens fetched per instance'), onRecover: () => log.info('Redis back') });
 * // `readShared` rejects with RedisDown when Redis refuses the connection.
 * const token = await circuit.call(
 *   () => withDeadline(readShared(), 250, () => new RedisDown('Redis did not answer within 250 ms')),
 *   () => local.getToken(),
 * );
 * ```
 */
export { Circuit, type CircuitOptions, type CircuitState } from './circuit.js';
export { withDeadline } from './deadline.js';
