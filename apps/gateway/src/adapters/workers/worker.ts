/**
 * The Cloudflare Workers entry: the core as it is, its config and docs portal embedded at build
 * time by `dingtalk-gateway build-worker` (which also checks the config), DingTalk reached with
 * the Workers `fetch`, logs on the console, the DingTalk secrets from the Worker's bindings
 * (secrets or variables named as in the config's `appSecretEnv`).
 *
 * One gateway per isolate, created at its first request. With the `GATEWAY_STATE` binding (a
 * Durable Object namespace of `GatewayState`, as `build-worker`'s workerd config and
 * `wrangler.toml` declare), the DingTalk token of each app, the limits, the ledger, the read
 * cache and the Idempotency-Keys are the one object's, shared by every isolate (`state.ts`,
 * `tokens.ts`: one token fetch per app however many isolates); without it, each isolate keeps
 * its own.
 */
import { errorBody } from '@dingtalk-gateway/errors';
import { config, docsPages } from 'dingtalk-gateway:embedded';
import type { ExecutionContext } from 'hono';
import { secretsFromEnvironment } from '../../config/secrets.js';
import { type Gateway, createGateway } from '../../core/create-gateway.js';
import { consoleLogger } from '../../core/observability/logger.js';
import { runtimeFetchUpstream } from '../../core/proxy/fetch-upstream.js';
import { type GatewayStateStub, sharedStores } from './state.js';
import { sharedTokenProviders } from './tokens.js';

/** The Durable Object class, exported from the Worker's main module as Workers require. */
export { GatewayState } from './state.js';

/** The part of a Durable Object namespace binding used here. */
interface StateNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): GatewayStateStub;
}

type Bindings = Readonly<Record<string, unknown>> & { GATEWAY_STATE?: StateNamespace };

let gateway: Gateway | undefined;

function gatewayFor(env: Bindings): Gateway {
  const state = env.GATEWAY_STATE;
  const strings = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  const logger = consoleLogger(config.observability.logLevel);
  const shared = state ? () => state.get(state.idFromName('gateway')) : undefined;
  return createGateway(config, {
    upstream: runtimeFetchUpstream(config.upstream),
    secrets: secretsFromEnvironment(config, strings),
    logger,
    docsPages,
    ...(shared ? { ...sharedStores(shared), tokenProviders: sharedTokenProviders(shared, logger) } : {}),
  });
}

export default {
  fetch(request: Request, env: Bindings, context: ExecutionContext): Response | Promise<Response> {
    try {
      gateway ??= gatewayFor(env);
    } catch (error) {
      // A binding the config names is missing: said on every request, in DingTalk's shape (the
      // message names bindings, never a value), until the Worker is deployed with it.
      const id = crypto.randomUUID();
      console.error(JSON.stringify({ level: 50, time: Date.now(), error: (error as Error).message, msg: 'the gateway cannot start' }));
      return Response.json(errorBody('gateway.internalError', `the gateway cannot start: ${(error as Error).message}`, id), { status: 500, headers: { 'x-request-id': id } });
    }
    return gateway.app.fetch(request, env, context);
  },
};
