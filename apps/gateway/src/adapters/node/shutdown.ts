/**
 * SIGTERM / SIGINT: stop accepting, let in-flight requests finish (bounded by the config's
 * grace period), exit 0. A second signal exits at once.
 */
export function installShutdown(close: () => Promise<void>, log: (message: string) => void = (m) => console.error(m)): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log(`${signal}: finishing in-flight requests, then exiting`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
