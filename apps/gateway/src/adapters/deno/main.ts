/**
 * `dingtalk-gateway` on Deno: the same commands as the Node CLI (`cli/main.ts`), the gateway
 * served by `Deno.serve`. It reads the config file and the environment, opens sockets, and loads
 * the workspace's node_modules: `--allow-all`.
 *
 * ```sh
 * deno run --allow-all apps/gateway/dist/adapters/deno/main.js start --config gateway.yaml
 * ```
 */
import { runCli } from '../../cli/main.js';
import { startDenoGateway } from './server.js';

runCli(process.argv.slice(2), { startGateway: startDenoGateway });
