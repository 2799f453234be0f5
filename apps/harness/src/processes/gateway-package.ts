/**
 * Where the gateway package's built entries are, and the runtimes' binaries, which come from the
 * gateway package's devDependencies (`bun`, `deno`, `workerd`): one version for its scripts and
 * for every suite and benchmark that runs it.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type Runtime = 'node' | 'bun' | 'deno';

const fromHere = createRequire(import.meta.url);
/** The gateway package's directory (its `dist`, `config` and `node_modules`). */
export const gatewayPackageDir = dirname(fromHere.resolve('@dingtalk-gateway/gateway/package.json'));
const fromGateway = createRequire(join(gatewayPackageDir, 'package.json'));

/** The Node CLI, `dingtalk-gateway` (`dist/cli/main.js`). */
export const gatewayCli = join(gatewayPackageDir, 'dist', 'cli', 'main.js');
/** The example configs shipped with the gateway (`config/*.yaml`). */
export const gatewayConfigFile = (name: string) => join(gatewayPackageDir, 'config', name);

/** The binaries themselves, not their `.bin` shell shims, which would take the signals meant for them. */
export const bunBinary = () => join(dirname(fromGateway.resolve('bun/package.json')), 'bin', 'bun.exe');
/** Linked into the `deno` package by its postinstall (pnpm-workspace.yaml). */
export const denoBinary = () => join(dirname(fromGateway.resolve('deno/package.json')), 'deno');
export const workerdBinary = () => join(dirname(fromGateway.resolve('workerd/package.json')), 'bin', 'workerd');

/**
 * How a runtime runs the gateway's CLI: the command, its arguments before `start …`, and the
 * directory (Deno finds the workspace's node_modules from the package's directory). `cli` is a
 * Node CLI (`…/dist/cli/main.js`), by default this workspace's; the Bun and Deno entries are
 * the ones built beside it. `runtimeArgs` go to the runtime itself (Node's `--cpu-prof`,
 * Bun's `--smol`, Deno's `--v8-flags=…`).
 */
export function gatewayCommand(runtime: Runtime, runtimeArgs: readonly string[] = [], cli = gatewayCli): { command: string; args: string[]; cwd: string } {
  const dist = dirname(dirname(cli));
  const packageDir = dirname(dist);
  if (runtime === 'bun') return { command: bunBinary(), args: [...runtimeArgs, join(dist, 'adapters', 'bun', 'main.js')], cwd: packageDir };
  if (runtime === 'deno') return { command: denoBinary(), args: ['run', '--allow-all', ...runtimeArgs, join(dist, 'adapters', 'deno', 'main.js')], cwd: packageDir };
  return { command: process.execPath, args: [...runtimeArgs, cli], cwd: packageDir };
}
