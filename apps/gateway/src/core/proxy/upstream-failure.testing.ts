/**
 * For the upstreams' tests (`*.testing.ts`: imported by tests only, not built): the
 * `UpstreamError` an exchange fails with, failing the test if it succeeds or fails otherwise.
 *
 * ```ts
 * const error = await upstreamFailure(upstream.send(request));
 * expect(error.failure).toBe('timeout');
 * ```
 */
import { expect } from 'vitest';
import { UpstreamError } from './upstream.js';

export async function upstreamFailure(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}
