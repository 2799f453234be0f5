#!/usr/bin/env bun
/**
 * `dingtalk-gateway` on Bun: the same commands as the Node CLI (`cli/main.ts`), the gateway
 * served by `Bun.serve`.
 *
 * ```sh
 * bun apps/gateway/dist/adapters/bun/main.js start --config gateway.yaml
 * ```
 */
import { runCli } from '../../cli/main.js';
import { startBunGateway } from './server.js';

runCli(process.argv.slice(2), { startGateway: startBunGateway });
