/**
 * Test helpers: call the sandbox in-process the way a DingTalk client would.
 *
 * ```ts
 * const sandbox = createSandbox();
 * const token = await tokenFor(sandbox);
 * const { status, body } = await call(sandbox, 'GET', '/v2.0/wiki/workspaces', { token, query: { operatorId } });
 * ```
 */
import { expect } from 'vitest';
import type { Sandbox } from '../app.js';
import { type AppCredentials, seeded } from '../seed.js';

export const BASE = 'http://sandbox.test';

export interface CallOptions {
  token?: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON unless `rawBody` is given. */
  body?: unknown;
  rawBody?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface CallResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export function request(method: string, path: string, options: CallOptions = {}): Request {
  const url = new URL(path, BASE);
  for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const headers = new Headers(options.headers);
  if (options.token !== undefined) headers.set('x-acs-dingtalk-access-token', options.token);
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers.set('content-type', options.contentType ?? 'application/json; charset=utf-8');
  return new Request(url, { method, headers, ...(body !== undefined ? { body } : {}) });
}

export async function call<T = any>(sandbox: Sandbox, method: string, path: string, options: CallOptions = {}): Promise<CallResult<T>> {
  const res = await sandbox.app.fetch(request(method, path, options));
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

export async function tokenFor(sandbox: Sandbox, app: AppCredentials = seeded.apps.full): Promise<string> {
  const res = await call(sandbox, 'POST', '/v1.0/oauth2/accessToken', { body: { appKey: app.appKey, appSecret: app.appSecret } });
  expect(res.status).toBe(200);
  return res.body.accessToken as string;
}

export async function corpTokenFor(sandbox: Sandbox, authCorpId: string = seeded.orgs.sandbox.corpId): Promise<string> {
  const { suiteKey, suiteSecret, suiteTicket } = seeded.suites.isv;
  const res = await call(sandbox, 'POST', '/v1.0/oauth2/corpAccessToken', { body: { suiteKey, suiteSecret, suiteTicket, authCorpId } });
  expect(res.status).toBe(200);
  return res.body.accessToken as string;
}

/** Asserts a DingTalk error answer: status, code, and the `{code, message, requestid}` shape. */
export function expectError(res: CallResult, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(typeof res.body.message).toBe('string');
  expect(res.body.requestid).toBe(res.headers.get('x-acs-request-id'));
}

/** A controllable clock for token expiry and QPS windows. */
export function manualClock(start = Date.parse('2025-06-02T08:00:00Z')) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(ms: number) {
      now = ms;
    },
  };
}

export interface SampleCall {
  method: string;
  path: string;
  options: CallOptions;
}

let sampleSeq = 0;

/**
 * A valid request (as alice, with the full-access app's token) for each operation that takes a
 * token; names are unique per call so repeated calls do not conflict.
 */
export function sampleCalls(): Record<'addWorkspace' | 'listWorkspaces' | 'getWorkspace' | 'createWorkspaceDoc' | 'addSpace', SampleCall> {
  const operatorId = seeded.users.alice.unionId;
  const n = ++sampleSeq;
  return {
    addWorkspace: { method: 'POST', path: '/v2.0/wiki/workspaces', options: { query: { operatorId }, body: { name: `Sample ${n}` } } },
    listWorkspaces: { method: 'GET', path: '/v2.0/wiki/workspaces', options: { query: { operatorId } } },
    getWorkspace: { method: 'GET', path: `/v2.0/wiki/workspaces/${seeded.workspaces.handbook.workspaceId}`, options: { query: { operatorId } } },
    createWorkspaceDoc: {
      method: 'POST',
      path: `/v1.0/doc/workspaces/${seeded.workspaces.handbook.workspaceId}/docs`,
      options: { body: { name: `Sample doc ${n}`, docType: 'DOC', operatorId } },
    },
    addSpace: { method: 'POST', path: '/v1.0/drive/spaces', options: { body: { name: `Sample space ${n}`, unionId: operatorId } } },
  };
}

export const TOKEN_OPERATIONS = ['addWorkspace', 'listWorkspaces', 'getWorkspace', 'createWorkspaceDoc', 'addSpace'] as const;
