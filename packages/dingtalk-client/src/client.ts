/**
 * The typed DingTalk client: openapi-fetch over the generated `paths`, where every non-2xx
 * answer is thrown as a `DingTalkError` and every 2xx answer is returned as its body.
 */
import { DingTalkError } from '@dingtalk-gateway/errors';
import createClient, { type Client, type FetchResponse, type MaybeOptionalInit } from 'openapi-fetch';
import type { HttpMethod, MediaType, PathsWithMethod, RequiredKeysOf } from 'openapi-typescript-helpers';

// openapi-fetch's own rule for when `init` may be left out (not exported by it).
type InitParam<Init> = RequiredKeysOf<Init> extends never ? [(Init & { [key: string]: unknown })?] : [Init & { [key: string]: unknown }];

/** The generated `paths` is an interface; a mapped copy is a plain object type openapi-fetch's helpers accept. */
export type PathsOf<Generated> = { [Path in keyof Generated]: Generated[Path] };

type SuccessBody<Item, Method extends HttpMethod, Init> = Method extends keyof Item
  ? Item[Method] extends Record<string | number, any>
    ? NonNullable<FetchResponse<Item[Method], Init, MediaType>['data']>
    : never
  : never;

// Same parameter typing as openapi-fetch's own methods; only the result differs.
type ThrowingMethod<Paths extends {}, Method extends HttpMethod> = <
  Path extends PathsWithMethod<Paths, Method>,
  Init extends MaybeOptionalInit<Paths[Path], Method & keyof Paths[Path]>,
>(
  url: Path,
  ...init: InitParam<Init>
) => Promise<SuccessBody<Paths[Path], Method, Init>>;

export interface DingTalkClient<Paths extends {}> {
  /** `GET` an operation; resolves with the 2xx body, throws `DingTalkError` otherwise. */
  GET: ThrowingMethod<Paths, 'get'>;
  /** `POST` an operation; resolves with the 2xx body, throws `DingTalkError` otherwise. Never replayed. */
  POST: ThrowingMethod<Paths, 'post'>;
  /** The underlying openapi-fetch client, answering `{ data, error, response }` without throwing. */
  readonly raw: Client<Paths>;
}

export type FetchFn = (request: Request) => Promise<Response>;

/** What openapi-fetch answers for one call. */
export interface RawResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** Runs each call (`send` may be called again: a retry), knowing its operation: method and path template. */
export type CallWrapper = (method: 'GET' | 'POST', template: string, send: () => Promise<RawResult>) => Promise<RawResult>;

export function createThrowingClient<Paths extends {}>(options: { baseUrl: string; fetch: FetchFn; headers?: Record<string, string>; wrap?: CallWrapper }): DingTalkClient<Paths> {
  const raw = createClient<Paths>({ baseUrl: options.baseUrl.replace(/\/+$/, ''), fetch: options.fetch, headers: options.headers });
  const wrap: CallWrapper = options.wrap ?? ((_method, _template, send) => send());

  const unwrap = (result: { data?: unknown; error?: unknown; response: Response }) => {
    if (!result.response.ok) throw DingTalkError.fromBody(result.response.status, result.error, result.response.headers);
    return result.data;
  };
  // The casts bridge openapi-fetch's overloaded generics; callers see the precise types above.
  const call = (method: 'GET' | 'POST') => async (url: string, ...init: unknown[]) =>
    unwrap(await wrap(method, url, () => (raw[method] as (url: string, ...init: unknown[]) => Promise<RawResult>)(url, ...init)));

  return { GET: call('GET') as DingTalkClient<Paths>['GET'], POST: call('POST') as DingTalkClient<Paths>['POST'], raw };
}
