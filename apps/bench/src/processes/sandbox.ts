/**
 * Child process: the DingTalk sandbox (the stateful emulator), for scenarios where what DingTalk
 * does matters more than how fast it answers (the call economy: real workspaces, writes that
 * change what reads return, DingTalk's own count of calls). Its limits are out of reach: the
 * scenario measures the calls the gateway makes, not DingTalk's refusals.
 *
 * Started with `fork()`: reports `{ type: 'ready', port }` over IPC, answers `{ type: 'stats' }`
 * with its call counters, and exits when the parent goes away.
 */
import { startSandbox } from '@dingtalk-gateway/sandbox';

const running = await startSandbox({
  qpsLimit: 1_000_000,
  monthlyCallQuota: 1_000_000_000,
  ipWindow: { limit: 1_000_000_000, windowMs: 1_000 },
});
process.send?.({ type: 'ready', port: running.port });

process.on('message', (message: { type?: string }) => {
  if (message?.type === 'stats') process.send?.({ type: 'stats', ...running.sandbox.counters.snapshot() });
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => {
  running.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
