/** A bounded load driver for the suites (the benchmark drives with autocannon). */
export interface LoadResult {
  statuses: Map<number, number>;
  codes: Map<string, number>;
  maxLatencyMs: number;
  admittedAt: number[];
}

/**
 * Sends requests round-robin over `urls` with `concurrency` callers until `durationMs` passes
 * (bounded by `maxRequests`). Records statuses, error codes, the worst latency and when each
 * admitted (2xx) request was sent.
 */
export async function drive(options: { urls: string[]; path: string; key: string; concurrency: number; durationMs: number; maxRequests: number; timeoutMs?: number }): Promise<LoadResult> {
  const result: LoadResult = { statuses: new Map(), codes: new Map(), maxLatencyMs: 0, admittedAt: [] };
  const started = performance.now();
  let sent = 0;
  const worker = async (id: number) => {
    while (performance.now() - started < options.durationMs && sent < options.maxRequests) {
      const url = options.urls[(sent + id) % options.urls.length]!;
      sent += 1;
      const at = performance.now() - started;
      let status: number;
      let code = '';
      try {
        const response = await fetch(url + options.path, {
          headers: { authorization: `Bearer ${options.key}` },
          signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
        });
        status = response.status;
        const text = await response.text();
        if (status >= 400) code = (JSON.parse(text) as { code?: string }).code ?? '?';
      } catch (error) {
        status = 0;
        code = (error as Error).name;
      }
      result.maxLatencyMs = Math.max(result.maxLatencyMs, performance.now() - started - at);
      result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
      if (code) result.codes.set(code, (result.codes.get(code) ?? 0) + 1);
      if (status >= 200 && status < 300) result.admittedAt.push(at);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, id) => worker(id)));
  return result;
}
