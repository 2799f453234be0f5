/**
 * Child process: a fast fixed-response stand-in for DingTalk, so the upstream is never what
 * limits a run. Every operation of the spec answers its documented example, precomputed as
 * bytes; the token endpoints answer a token (after `BENCH_TOKEN_DELAY_MS`, to make a token storm
 * overlap one fetch) and are counted.
 *
 * Started with `fork()`: reports `{ type: 'ready', port }` over IPC, answers `{ type: 'stats' }`
 * with its counters, and exits when the parent goes away.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const TOKEN_HEADER = 'x-acs-dingtalk-access-token';
const tokenDelayMs = Number(process.env.BENCH_TOKEN_DELAY_MS ?? '0');

const counters = { requests: 0, tokenFetches: 0, missingToken: 0, notFound: 0 };

// DingTalk's answers, from the examples of spec/dingtalk.yaml.
const workspace = {
  workspaceId: 'MJ0pDSKMV9dO20E4',
  corpId: 'ding16b241fd05********288',
  teamId: 'lHiicjNFM2iSFYSdz2iPuI8ZwiEiE',
  rootNodeId: 'ydxXB52LJqqK7xxNTXyo390kJqjMp697',
  name: 'workspace_name',
  type: 'TEAM',
  description: 'workspace_description',
  url: 'workspace_url',
  icon: { type: 'URL', value: 'https://example/file-manage-files/zh-CN/202***13/ldet/avatar3.jpg' },
  cover: 'https://example/file-manage-files/zh-CN/202***13/ldet/XXXX.jpg',
  creatorId: '01472825524039877041',
  modifierId: '01472825524039877041',
  createTime: '2023-05-15T11:29Z',
  modifiedTime: '2023-05-15T11:29Z',
  permissionRole: 'READER',
};
const bodies = {
  listWorkspaces: { workspaces: Array.from({ length: 10 }, (_, i) => ({ ...workspace, workspaceId: `By8jQS1ZYjGn5b0${i}` })), nextToken: 'next_token' },
  workspace: { workspace },
  doc: {
    workspaceId: 'MJ0pDSKMV9dO20E4',
    nodeId: '9E05BDRVQePjzLkZt2p2vE7kV63zgkYA',
    docKey: '8d6p9Eqwt1XnNV0jPBdy',
    url: 'https://alidocs.dingtalk.com/i/nodes/9E05BDRVQePjzLkZt2p2vE7kV63zgkYA',
    dentryUuid: '9E05BDRVQePjzLkZt2p2vE7kV63zgkYA',
  },
  space: { spaceId: '12345', spaceName: 'New space name', spaceType: 'org', quota: 1024000, usedQuota: 512000, permissionMode: 'acl', createTime: '2016-02-28T10:47:08Z', modifyTime: '2016-02-28T10:47:08Z' },
  token: { accessToken: 'bench0c1f2a9e8b3c7d0123456789abcdef', expireIn: 7200 },
  notFound: { code: 'InvalidAction.NotFound', message: 'Specified api is not found, please check your url and method.', requestid: 'bench' },
  missingToken: { code: 'MissingxAcsDingtalkAccessToken', message: 'x-acs-dingtalk-access-token is mandatory for this action.', requestid: 'bench' },
};

interface Answer {
  status: number;
  headers: Record<string, string | number>;
  body: Buffer;
}

function answer(status: number, value: unknown): Answer {
  const body = Buffer.from(JSON.stringify(value));
  return {
    status,
    body,
    headers: {
      'content-type': 'application/json;charset=utf-8',
      'content-length': body.length,
      'x-acs-request-id': '30EE6F4B-2C2B-7F1B-A2B1-6F7C1E2D3A4B',
      'x-acs-trace-id': '0bc1ab2a17004522222221111e0a5b',
    },
  };
}

const answers = {
  listWorkspaces: answer(200, bodies.listWorkspaces),
  workspace: answer(200, bodies.workspace),
  doc: answer(200, bodies.doc),
  space: answer(200, bodies.space),
  token: answer(200, bodies.token),
  notFound: answer(404, bodies.notFound),
  missingToken: answer(400, bodies.missingToken),
};

function route(method: string | undefined, path: string): Answer {
  if (method === 'GET') {
    if (path === '/v2.0/wiki/workspaces') return answers.listWorkspaces;
    if (path.startsWith('/v2.0/wiki/workspaces/')) return answers.workspace;
  } else if (method === 'POST') {
    if (path === '/v2.0/wiki/workspaces') return answers.workspace;
    if (path.startsWith('/v1.0/doc/workspaces/')) return answers.doc;
    if (path === '/v1.0/drive/spaces') return answers.space;
  }
  return answers.notFound;
}

function send(res: ServerResponse, a: Answer): void {
  res.writeHead(a.status, a.headers);
  res.end(a.body);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  counters.requests += 1;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path === '/v1.0/oauth2/accessToken' || path === '/v1.0/oauth2/corpAccessToken') {
    counters.tokenFetches += 1;
    if (tokenDelayMs > 0) setTimeout(() => send(res, answers.token), tokenDelayMs);
    else send(res, answers.token);
    return;
  }
  if (req.headers[TOKEN_HEADER] === undefined) {
    counters.missingToken += 1;
    send(res, answers.missingToken);
    return;
  }
  const a = route(req.method, path);
  if (a === answers.notFound) counters.notFound += 1;
  send(res, a);
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  // Read the request body (if any) before answering, as a real server does.
  if (req.method === 'GET' || req.method === 'HEAD') {
    handle(req, res);
    req.resume();
  } else {
    req.on('end', () => handle(req, res));
    req.resume();
  }
});

server.listen(Number(process.env.BENCH_PORT ?? '0'), '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});

process.on('message', (message: { type?: string }) => {
  if (message?.type === 'stats') process.send?.({ type: 'stats', ...counters });
});
// The parent owns this process: when it goes, so do we.
process.on('disconnect', () => process.exit(0));
// A clean exit on SIGTERM, so a --cpu-prof profile gets written.
process.on('SIGTERM', () => process.exit(0));
