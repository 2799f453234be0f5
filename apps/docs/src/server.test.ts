import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fileFor, startDocsServer, type DocsServer } from './server.js';

let root: string;
let docs: DocsServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'docs-server-'));
  mkdirSync(join(root, 'site'));
  writeFileSync(join(root, 'site', 'index.html'), '<title>gateway</title>');
  writeFileSync(join(root, 'site', 'dingtalk.html'), '<title>dingtalk</title>');
  writeFileSync(join(root, 'secret.txt'), 'outside the root');
  docs = await startDocsServer({ port: 0, root: pathToFileURL(join(root, 'site') + '/') });
});

afterAll(async () => {
  await docs.close();
  rmSync(root, { recursive: true, force: true });
});

/** A raw request, so paths reach the server exactly as written (fetch would normalize them). */
function get(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(docs.url);
  return new Promise((ok, fail) => {
    const req = request({ host: hostname, port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', fail).end();
  });
}

describe('startDocsServer', () => {
  test('listens on loopback and reports its URL', () => {
    expect(docs.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  test('serves index.html for / and the other pages by name, as HTML', async () => {
    const home = await get('/');
    expect(home).toMatchObject({ status: 200, body: '<title>gateway</title>' });
    expect(home.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(await get('/index.html')).toMatchObject({ status: 200, body: '<title>gateway</title>' });
    expect(await get('/dingtalk.html?x=1')).toMatchObject({ status: 200, body: '<title>dingtalk</title>' });
  });

  test('answers HEAD without a body and other methods with 405', async () => {
    const head = await get('/', 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe(String('<title>gateway</title>'.length));
    const post = await get('/', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  test('answers 404 for missing files and anything outside its folder', async () => {
    for (const path of ['/missing.html', '/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%00', '/%zz']) {
      expect((await get(path)).status, path).toBe(404);
    }
  });
});

describe('fileFor', () => {
  test('maps paths inside the root and refuses the rest', () => {
    expect(fileFor('/srv/site', '/')).toBe('/srv/site/index.html');
    expect(fileFor('/srv/site', '/dingtalk.html')).toBe('/srv/site/dingtalk.html');
    expect(fileFor('/srv/site', '/a%20b.html')).toBe('/srv/site/a b.html');
    expect(fileFor('/srv/site', '/../etc/passwd')).toBeUndefined();
    expect(fileFor('/srv/site', '/..')).toBeUndefined();
    expect(fileFor('/srv/site', '/%E0%A4%A')).toBeUndefined();
  });
});
