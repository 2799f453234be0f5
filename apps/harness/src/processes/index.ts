/** Running the gateway and its neighbours as processes: shared by the suites and the benchmark. */
export { childPids, installCleanup, killAllChildren, rssMb, stopChild, track } from './children.js';
export { type GatewayProcess, type GatewayProcessOptions, startGatewayProcess } from './gateway-process.js';
export { type Runtime, bunBinary, denoBinary, gatewayCli, gatewayCommand, gatewayConfigFile, gatewayPackageDir, workerdBinary } from './gateway-package.js';
export { OwnRedis } from './own-redis.js';
export { freePort, untilServing } from './serving.js';
export { type WorkerdGateway, startWorkerdGateway } from './workerd-gateway.js';
export { type LoadResult, drive } from './drive.js';
