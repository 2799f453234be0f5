/**
 * The gateway on real sockets in front of the sandbox on real sockets, on every runtime it runs
 * on (Node in this process; Bun and Deno as processes, `bun dist/adapters/bun/main.js start`,
 * `deno run --allow-all dist/adapters/deno/main.js start`): the typed
 * client and DingTalk's official SDK used against the gateway end to end, metrics, the docs
 * portal, and graceful shutdown.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import * as $OpenApi from '@alicloud/openapi-client';
import * as $Util from '@alicloud/tea-util';
import { DingTalkError, createGatewayClient, listAllWorkspaces } from '@dingtalk-gateway/client';
import { docsDir, docsPages } from '@dingtalk-gateway/docs';
import { type RunningSandbox, startSandbox } from '@dingtalk-gateway/sandbox';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntilListening, configSchema, mintApiKey, startGateway } from '@dingtalk-gateway/gateway';
import { type Runtime, startGatewayProcess, startWorkerdGateway } from '../processes/index.js';

const require = createRequire(import.meta.url);
const oauth2 = require('@alicloud/dingtalk/oauth2_1_0') as typeof import('@alicloud/dingtalk/dist/oauth2_1_0/client.js');
const wiki = require('@alicloud/dingtalk/wiki_2_0') as typeof import('@alicloud/dingtalk/dist/wiki_2_0/client.js');
const doc = require('@alicloud/dingtalk/doc_1_0') as typeof import('@alicloud/dingtalk/dist/doc_1_0/client.js');
const drive = require('@alicloud/dingtalk/drive_1_0') as typeof import('@alicloud/dingtalk/dist/drive_1_0/client.js');

const operatorId = seeded.users.alice.unionId;
const handbook = seeded.workspaces.handbook.workspaceId;
const writer = mintApiKey();
const reader = mintApiKey();

/** A gateway under test, whatever runs it. */
interface GatewayUnderTest {
  url: string;
  metricsUrl: string | undefined;
  /** As the runtime shuts down: in-flight requests finish, new connections are refused. */
  close(): Promise<void>;
}

/** The config every runtime gets, as the object the Node entry takes and as the YAML a process reads. */
function configFor(sandbox: RunningSandbox) {
  return {
    server: { port: 0, shutdownGraceMs: 5_000 },
    upstream: { baseUrl: sandbox.url },
    apps: { full: { type: 'internal', appKey: seeded.apps.full.appKey, appSecretEnv: 'FULL_SECRET' } },
    tenants: {
      writer: { name: 'Writer', app: 'full', apiKeys: [{ sha256: writer.sha256 }], scopes: ['Wiki.Workspace.Read', 'Wiki.Workspace.Write', 'Document.WorkspaceDocument.Write', 'Drive.Space.Write'], rateLimit: { rate: 100, burst: 100 } },
      reader: { name: 'Reader', app: 'full', apiKeys: [{ sha256: reader.sha256 }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 100, burst: 100 } },
    },
    observability: { logLevel: 'silent', metrics: { port: 0 } },
  };
}

/** A gateway process on `runtime` (its config a file, YAML being a superset of JSON), stopped with SIGTERM. */
async function startProcess(runtime: Runtime, sandbox: RunningSandbox): Promise<GatewayUnderTest> {
  const gateway = await startGatewayProcess({ runtime, config: JSON.stringify(configFor(sandbox)), env: { FULL_SECRET: seeded.apps.full.appSecret } });
  return {
    url: gateway.url,
    metricsUrl: gateway.metricsUrl,
    async close() {
      expect(await gateway.stop()).toBe(0);
    },
  };
}

const RUNTIMES: Array<{ name: string; start(sandbox: RunningSandbox): Promise<GatewayUnderTest> }> = [
  {
    name: 'Node',
    start: (sandbox) => startGateway({ config: configSchema.parse(configFor(sandbox)), env: { FULL_SECRET: seeded.apps.full.appSecret }, logger: pino({ level: 'silent' }) }),
  },
  { name: 'Bun', start: (sandbox) => startProcess('bun', sandbox) },
  { name: 'Deno', start: (sandbox) => startProcess('deno', sandbox) },
  { name: 'Workers', start: startWorkerd },
];

/** The Workers bundle built for this config, served by the real workerd (`startWorkerdGateway`). */
async function startWorkerd(sandbox: RunningSandbox): Promise<GatewayUnderTest> {
  const gateway = await startWorkerdGateway({ config: configFor(sandbox), env: { FULL_SECRET: seeded.apps.full.appSecret } });
  return {
    url: gateway.url,
    metricsUrl: undefined,
    async close() {
      await gateway.stop();
    },
  };
}


/** Runtimes that answer a request without Host themselves, and what their body is. */
const OWN_ANSWER_WITHOUT_HOST: Record<string, RegExp> = { Bun: /^$/, Workers: /^Bad Request/ };

/** What the server answers to a raw HTTP/1.1 request without Host (no HTTP client sends one). */
function withoutHost(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write('GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n'));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += String(chunk)));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

for (const runtime of RUNTIMES) describe(`on ${runtime.name}`, () => endToEnd(runtime));

function endToEnd(runtime: (typeof RUNTIMES)[number]): void {
  const start = runtime.start;
  let sandbox: RunningSandbox;
  let gateway: GatewayUnderTest;

  beforeAll(async () => {
    sandbox = await startSandbox({ admin: true });
    gateway = await start(sandbox);
  });
  afterAll(async () => {
    await gateway.close();
    await sandbox.close();
  });

  describe('the typed client through the gateway', () => {
    it('runs every operation end to end', async () => {
      const client = createGatewayClient({ baseUrl: gateway.url, apiKey: writer.key });
      const { workspace } = await client.POST('/v2.0/wiki/workspaces', { params: { query: { operatorId } }, body: { name: 'Typed client wiki', option: { teamId: seeded.teams.engineering.teamId } } });
      expect(workspace.name).toBe('Typed client wiki');
      const fetched = await client.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: workspace.workspaceId }, query: { operatorId, withPermissionRole: true } } });
      expect(fetched.workspace.permissionRole).toBe('OWNER');
      const folder = await client.POST('/v1.0/doc/workspaces/{workspaceId}/docs', { params: { path: { workspaceId: workspace.workspaceId } }, body: { name: 'Folder', docType: 'FOLDER', operatorId } });
      const child = await client.POST('/v1.0/doc/workspaces/{workspaceId}/docs', { params: { path: { workspaceId: workspace.workspaceId } }, body: { name: 'Child', docType: 'DOC', operatorId, parentNodeId: folder.nodeId } });
      expect(child.workspaceId).toBe(workspace.workspaceId);
      const space = await client.POST('/v1.0/drive/spaces', { body: { name: 'Typed client space', unionId: operatorId } });
      expect(space.spaceName).toBe('Typed client space');
      const names: string[] = [];
      for await (const ws of listAllWorkspaces(client, { operatorId, maxResults: 2 })) names.push(ws.name);
      expect(names).toContain('Typed client wiki');
      expect(names.length).toBeGreaterThan(2);
    });

    it("throws DingTalk's errors and the gateway's as DingTalkError", async () => {
      const client = createGatewayClient({ baseUrl: gateway.url, apiKey: reader.key });
      const missing = await client.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'nope' }, query: { operatorId } } }).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(DingTalkError);
      expect(missing).toMatchObject({ status: 404, code: 'workspaceNotExist' });
      const denied = await client.POST('/v1.0/drive/spaces', { body: { name: 'x', unionId: operatorId } }).catch((e: unknown) => e);
      expect(denied).toMatchObject({ status: 403, code: 'gateway.auth.scopeDenied', accessDeniedDetail: { requiredScopes: ['Drive.Space.Write'] } });
      expect((denied as DingTalkError).requestId).toBeTruthy();
    });
  });

  describe("DingTalk's official SDK through the gateway", () => {
    const config = () => new $OpenApi.Config({ protocol: 'http', endpoint: new URL(gateway.url).host });
    const runtime = () => new $Util.RuntimeOptions({});
    const auth = (key: string) => ({ commonHeaders: { Authorization: `Bearer ${key}` } });

    it('runs every operation with the API key in commonHeaders', async () => {
      const wikiClient = new wiki.default(config());
      const added = await wikiClient.addWorkspaceWithOptions(
        new wiki.AddWorkspaceRequest({ operatorId, name: 'SDK wiki', option: new wiki.AddWorkspaceRequestOption({ description: 'via the gateway' }) }),
        new wiki.AddWorkspaceHeaders(auth(writer.key)),
        runtime(),
      );
      const workspaceId = added.body!.workspace!.workspaceId!;
      expect(added.statusCode).toBe(200);
      expect(added.headers?.['x-request-id']).toBeTruthy();
      const got = await wikiClient.getWorkspaceWithOptions(workspaceId, new wiki.GetWorkspaceRequest({ operatorId }), new wiki.GetWorkspaceHeaders(auth(writer.key)), runtime());
      expect(got.body!.workspace!.name).toBe('SDK wiki');
      const listed = await wikiClient.listWorkspacesWithOptions(
        new wiki.ListWorkspacesRequest({ operatorId, maxResults: 30, orderBy: 'CREATE_TIME_DESC', teamId: seeded.teams.engineering.teamId }),
        new wiki.ListWorkspacesHeaders(auth(writer.key)),
        runtime(),
      );
      expect(listed.body!.workspaces!.length).toBeGreaterThan(0);
      const created = await new doc.default(config()).createWorkspaceDocWithOptions(
        workspaceId,
        new doc.CreateWorkspaceDocRequest({ name: 'SDK doc', docType: 'DOC', operatorId }),
        new doc.CreateWorkspaceDocHeaders(auth(writer.key)),
        runtime(),
      );
      expect(created.body!.nodeId).toBeTruthy();
      const space = await new drive.default(config()).addSpaceWithOptions(
        new drive.AddSpaceRequest({ name: 'SDK space', unionId: operatorId }),
        new drive.AddSpaceHeaders(auth(writer.key)),
        runtime(),
      );
      expect(space.body!.spaceName).toBe('SDK space');
    });

    it("surfaces DingTalk's and the gateway's codes as SDK errors", async () => {
      const wikiClient = new wiki.default(config());
      const error = (call: Promise<unknown>) => call.then(() => { throw new Error('expected an error'); }, (e: { code: string; statusCode: number }) => e);
      expect(await error(wikiClient.getWorkspaceWithOptions('nope', new wiki.GetWorkspaceRequest({ operatorId }), new wiki.GetWorkspaceHeaders(auth(reader.key)), runtime()))).toMatchObject({ code: 'workspaceNotExist', statusCode: 404 });
      expect(await error(wikiClient.addWorkspaceWithOptions(new wiki.AddWorkspaceRequest({ operatorId, name: 'x' }), new wiki.AddWorkspaceHeaders(auth(reader.key)), runtime()))).toMatchObject({ code: 'gateway.auth.scopeDenied', statusCode: 403 });
      expect(await error(wikiClient.listWorkspacesWithOptions(new wiki.ListWorkspacesRequest({ operatorId, maxResults: 31 }), new wiki.ListWorkspacesHeaders(auth(reader.key)), runtime()))).toMatchObject({ code: 'paramError', statusCode: 400 });
      expect(await error(wikiClient.listWorkspacesWithOptions(new wiki.ListWorkspacesRequest({ operatorId }), new wiki.ListWorkspacesHeaders(auth('dtg_nope')), runtime()))).toMatchObject({ code: 'gateway.auth.invalidKey', statusCode: 401 });
    });
  });

  /**
   * The cases where the gateway once answered a generic `paramError` and DingTalk its own code,
   * each made by the official SDK (which checks nothing itself) straight to DingTalk (the sandbox,
   * with a DingTalk token) and through the gateway (with an API key): the SDK must surface the same
   * status and code both ways. The property-based proof over every operation is
   * reliability/differential.property.test.ts; this one is the SDK's own wire format, on sockets.
   */
  describe("DingTalk's official SDK gets DingTalk's own codes for bad input, through the gateway as from DingTalk", () => {
    const runtime = () => new $Util.RuntimeOptions({});
    interface Route {
      config: () => $OpenApi.Config;
      headers: { xAcsDingtalkAccessToken?: string; commonHeaders?: Record<string, string> };
    }
    let direct: Route;
    let viaGateway: Route;

    beforeAll(async () => {
      const sandboxConfig = () => new $OpenApi.Config({ protocol: 'http', endpoint: new URL(sandbox.url).host });
      const token = await new oauth2.default(sandboxConfig()).getAccessToken(new oauth2.GetAccessTokenRequest({ appKey: seeded.apps.full.appKey, appSecret: seeded.apps.full.appSecret }));
      direct = { config: sandboxConfig, headers: { xAcsDingtalkAccessToken: token.body!.accessToken! } };
      viaGateway = { config: () => new $OpenApi.Config({ protocol: 'http', endpoint: new URL(gateway.url).host }), headers: { commonHeaders: { Authorization: `Bearer ${writer.key}` } } };
    });

    const outcome = (call: Promise<unknown>) =>
      call.then(
        () => ({ statusCode: 200, code: undefined }),
        (e: { code: string; statusCode: number }) => ({ statusCode: e.statusCode, code: e.code }),
      );
    // The SDK's models are typed; a wrong type is what a caller's `any` would send.
    const wrong = <T>(value: unknown) => value as T;
    const cases: Array<[string, string, (route: Route) => Promise<unknown>]> = [
      ['ListWorkspaces orderBy=BAD', 'paramError.orderBy', (r) => new wiki.default(r.config()).listWorkspacesWithOptions(new wiki.ListWorkspacesRequest({ operatorId, orderBy: 'BAD' }), new wiki.ListWorkspacesHeaders(r.headers), runtime())],
      ...([['no name', {}], ['an empty name', { name: '' }], ['a name that is not a string', { name: wrong<string>(42) }]] as const).map(
        ([label, fields]): [string, string, (route: Route) => Promise<unknown>] => [
          `AddWorkspace with ${label}`,
          'paramError.name',
          (r) => new wiki.default(r.config()).addWorkspaceWithOptions(new wiki.AddWorkspaceRequest({ operatorId, ...fields }), new wiki.AddWorkspaceHeaders(r.headers), runtime()),
        ],
      ),
      ...([
        ['a bad docType', { name: 'n', docType: 'PDF', operatorId }],
        ['a bad templateType', { name: 'n', docType: 'DOC', operatorId, templateType: 'mine' }],
        ['no name', { docType: 'DOC', operatorId }],
        ['no operatorId', { name: 'n', docType: 'DOC' }],
      ] as const).map(([label, fields]): [string, string, (route: Route) => Promise<unknown>] => [
        `CreateWorkspaceDoc with ${label}`,
        'invalidRequest.inputArgs.invalid',
        (r) => new doc.default(r.config()).createWorkspaceDocWithOptions(handbook, new doc.CreateWorkspaceDocRequest(fields), new doc.CreateWorkspaceDocHeaders(r.headers), runtime()),
      ]),
      ...([
        ['an empty name', { name: '', unionId: operatorId }, 'name.invalid'],
        ['no name', { unionId: operatorId }, 'param.error'],
        ['no unionId', { name: 'Files' }, 'param.error'],
      ] as const).map(([label, fields, code]): [string, string, (route: Route) => Promise<unknown>] => [
        `AddSpace with ${label}`,
        code,
        (r) => new drive.default(r.config()).addSpaceWithOptions(new drive.AddSpaceRequest(fields), new drive.AddSpaceHeaders(r.headers), runtime()),
      ]),
    ];

    it.each(cases)('%s: 400 %s both ways', async (_label, code, send) => {
      const fromDingTalk = await outcome(send(direct));
      const throughGateway = await outcome(send(viaGateway));
      expect(fromDingTalk).toEqual({ statusCode: 400, code });
      expect(throughGateway).toEqual(fromDingTalk);
    });
  });

  describe('the entry', () => {
    it('serves metrics on their own listener only', async () => {
      expect((await fetch(`${gateway.url}/metrics`)).status).toBe(401);
      // A Worker has no second listener (README, Runtimes).
      if (runtime.name === 'Workers') return expect(gateway.metricsUrl).toBeUndefined();
      const metrics = await fetch(gateway.metricsUrl!);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/dtg_requests_total/);
      expect((await fetch(`${gateway.url}/metrics`)).status).toBe(401);
    });

    it("refuses an HTTP/1.1 request without Host, in DingTalk's error shape where the runtime lets it", async () => {
      const answer = await withoutHost(gateway.url);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
      // Bun and workerd refuse it before any handler runs, with their own body: the known
      // difference the README's runtime table states (this checks the statement stays true).
      const ownAnswer = OWN_ANSWER_WITHOUT_HOST[runtime.name];
      if (ownAnswer !== undefined) expect(body).toMatch(ownAnswer);
      else expect(JSON.parse(body)).toMatchObject({ code: 'gateway.request.malformed', message: 'an HTTP/1.1 request needs a Host header' });
    });

    it("serves the built docs portal's pages byte for byte", async () => {
      for (const page of Object.values(docsPages)) {
        const response = await fetch(`${gateway.url}/docs/${page.file}`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('text/html; charset=UTF-8');
        expect(Buffer.from(await response.arrayBuffer()).equals(readFileSync(new URL(page.file, docsDir)))).toBe(true);
      }
    });

    it('on close, finishes in-flight requests and refuses new connections', async () => {
      const own = await start(sandbox);
      sandbox.sandbox.faults.set({ getWorkspace: { latencyMs: 300 } });
      try {
        const inFlight = fetch(`${own.url}/v2.0/wiki/workspaces/${handbook}?operatorId=${operatorId}`, { headers: { authorization: `Bearer ${writer.key}` } });
        await new Promise((resolve) => setTimeout(resolve, 100));
        const closed = own.close();
        const response = await inFlight;
        expect(response.status).toBe(200);
        // The answer in flight when the drain began tells the client this connection ends (Node's
        // server; Bun's closes its connections itself and lets the header be).
        if (runtime.name === 'Node') expect(response.headers.get('connection')).toBe('close');
        await closed;
        await expect(fetch(`${own.url}/healthz`)).rejects.toThrow();
      } finally {
        sandbox.sandbox.faults.clear();
      }
    });
  });
}
