/**
 * Opens the built portal (dist/site/, served as `start` serves it) in headless Chromium with
 * every request that would leave the machine blocked and recorded, and checks that each page
 * renders every operation of its contract, the gateway page its getting-started and auth
 * sections, and that nothing was requested from outside. Needs Debian's chromium at
 * /usr/bin/chromium (scripts/ensure-chromium.sh): without it the tests are skipped, or fail
 * when CI=true. Saves screenshots to test-results/ (portal.png: the gateway page).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dingtalkOperationsOf, operationsOf, type OpenApiDocument } from '@dingtalk-gateway/spec';
import { loadDingTalkSpec } from '@dingtalk-gateway/spec/dingtalk-spec';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test, type TestContext } from 'vitest';
import { docsDir, docsPages, startDocsServer, type DocsPage, type DocsServer } from './index.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url));

const chromiumMissing = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} not found: the docs portal browser test needs Debian's chromium package ` +
    '(run apps/docs/scripts/ensure-chromium.sh, or apt-get install -y chromium).';
const mustRun = process.env.CI === 'true';

/** Everything local to this machine; any other request is blocked and recorded. */
function isLocal(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (['file:', 'data:', 'blob:', 'about:'].includes(parsed.protocol)) return true;
  return ['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol) && ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exactly = (text: string): RegExp => new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`);
const squash = (text: string): string => text.replace(/\s+/g, ' ').trim();

let server: DocsServer;
let context: BrowserContext;
let userDataDir: string;
/** Requests that tried to leave the machine (blocked by the route), for the current test. */
let blocked: string[] = [];
/** Every request to outside the machine the browser reported, routed or not, for the current test. */
let outside: string[] = [];

beforeAll(async () => {
  if (chromiumMissing) {
    if (mustRun) throw new Error(`CI=true and ${chromiumMissing}`);
    console.warn(`Skipping the docs portal browser test: ${chromiumMissing}`);
    return;
  }
  for (const page of Object.values(docsPages)) {
    const file = fileURLToPath(new URL(page.file, docsDir));
    if (!existsSync(file)) throw new Error(`${file} is missing: run the build first (turbo runs it before test).`);
  }
  mkdirSync(RESULTS, { recursive: true });
  server = await startDocsServer({ port: 0 });
  userDataDir = mkdtempSync(join(tmpdir(), 'docs-portal-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    serviceWorkers: 'block',
  });
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    blocked.push(`${route.request().method()} ${url}`);
    return route.abort('blockedbyclient');
  });
  await context.routeWebSocket(
    (url) => !isLocal(url.href),
    (ws) => {
      blocked.push(`WebSocket ${ws.url()}`);
      return ws.close();
    },
  );
  // Belt and braces: every request event, also one a route would not see.
  context.on('request', (request) => {
    if (!isLocal(request.url())) outside.push(`${request.method()} ${request.url()}`);
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/** Skips the test (not in CI) when Chromium is missing; in CI beforeAll has already failed. */
function needChromium(ctx: TestContext): void {
  if (chromiumMissing) ctx.skip(chromiumMissing);
  blocked = [];
  outside = [];
}

interface OpenedPage {
  page: Page;
  /** Uncaught exceptions and console errors of the page. */
  errors: string[];
}

async function open(name: DocsPage): Promise<OpenedPage> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
  });
  const response = await page.goto(new URL(docsPages[name].file, server.url).href, { waitUntil: 'load' });
  expect(response?.status()).toBe(200);
  await waitForRedoc(page);
  return { page, errors };
}

/**
 * Redoc prerenders the page and hydrates it from an inline module script; the sidebar only works
 * (as hash routes) once hydrated. `hydrateRoot` marks the container; hydration and its effects
 * are done by the time the network is idle (and any blocked request has been recorded).
 */
async function waitForRedoc(page: Page): Promise<void> {
  await page.locator('#api-content').waitFor({ state: 'visible', timeout: 15_000 });
  // (a string: this package's tsconfig has no DOM types)
  await page.waitForFunction(
    `Object.keys(document.getElementById('redoc') ?? {}).some((key) => key.startsWith('__reactContainer$'))`,
    undefined,
    { timeout: 15_000 },
  );
  await page.waitForLoadState('networkidle');
}

/** Nothing left the machine, and the page had no errors (a blocked load logs one). */
function expectOffline(errors: string[]): void {
  expect({ blocked, outside, errors }).toEqual({ blocked: [], outside: [], errors: [] });
}

/** The "API docs by Redocly" logo is the build's inline image, not Redocly's CDN. */
async function expectLocalLogo(page: Page): Promise<void> {
  const logo = page.locator('img[alt="redocly logo"]').first();
  await logo.waitFor({ state: 'attached', timeout: 5_000 });
  expect(await logo.getAttribute('src')).toMatch(/^data:image\/svg\+xml,/);
}

/**
 * Finds each operation of `doc` through the sidebar and checks its section rendered, with the
 * DingTalk codes its description tables for bad input (the gateway contract has such a table).
 */
async function expectEveryOperation(page: Page, doc: OpenApiDocument): Promise<number> {
  const menu = page.locator('[data-component-name="Menu/Menu"]').first();
  const content = page.locator('#api-content');
  let count = 0;
  for (const { path, method, operation } of operationsOf(doc)) {
    const label = typeof operation.summary === 'string' ? operation.summary : operation.operationId;
    const tag = Array.isArray(operation.tags) && typeof operation.tags[0] === 'string' ? operation.tags[0] : undefined;
    const link = menu.getByText(exactly(label)).first();
    if (!(await link.isVisible()) && tag) await menu.getByText(exactly(tag)).first().click();
    await link.click();
    const heading = content.locator('h1, h2').filter({ hasText: exactly(label) }).first();
    await heading.waitFor({ state: 'visible', timeout: 10_000 });
    const section = heading.locator('xpath=ancestor::*[@id][1]');
    const sectionText = squash(await section.innerText());
    expect(sectionText, `${operation.operationId}: method`).toContain(method.toUpperCase());
    expect(sectionText, `${operation.operationId}: path`).toContain(path);
    expect((await section.getAttribute('id'))?.toLowerCase(), `${operation.operationId}: section id`).toContain(
      operation.operationId.toLowerCase(),
    );
    expect(new URL(page.url()).pathname, `${operation.operationId}: stayed on the page`).toMatch(/\/(index\.html|dingtalk\.html)?$/);
    for (const [, status, code] of String(operation.description ?? '').matchAll(/^\| .+ \| (\d{3}) `([^`]+)` \|$/gm)) {
      expect(sectionText, `${operation.operationId}: shows ${status} ${code} for bad input`).toContain(`${status} ${code}`);
    }
    count++;
  }
  return count;
}

describe('docs portal in headless Chromium, offline', () => {
  test('the gateway page renders getting started, auth and every operation, loading nothing from outside', async (ctx) => {
    needChromium(ctx);
    const contract = loadGatewayContract();
    const { page, errors } = await open('gateway');
    expectOffline(errors);
    await expectLocalLogo(page);
    expect(await page.title()).toBe(docsPages.gateway.title);

    // info.description: every `## section` as a heading, every code sample (first line) as text.
    const description = String(contract.info.description ?? '');
    const sections = [...description.matchAll(/^##\s+(.+)$/gm)].map((m) => m[1]!.trim());
    expect(sections).toEqual(expect.arrayContaining(['Getting started', 'Authentication']));
    const content = page.locator('#api-content');
    for (const section of sections) {
      await content.locator('h1, h2, h3').filter({ hasText: exactly(section) }).first().waitFor({ state: 'visible' });
    }
    const samples = [...description.matchAll(/```[\w-]*\n([\s\S]*?)```/g)].map((m) => m[1]!.trim().split('\n')[0]!);
    expect(samples.length).toBeGreaterThanOrEqual(2);
    const text = squash(await content.innerText());
    for (const firstLine of samples) expect(text).toContain(squash(firstLine));
    expect(text).toContain('Authorization: Bearer');

    await page.screenshot({ path: join(RESULTS, 'portal.png'), fullPage: true });

    // Every operation tables its DingTalk codes for bad input (checked as rendered by expectEveryOperation).
    for (const { operation } of dingtalkOperationsOf(contract)) expect(String(operation.description), operation.operationId).toMatch(/^\| .+ \| 400 `[^`]+` \|$/m);
    const operations = await expectEveryOperation(page, contract);
    expect(operations).toBe([...operationsOf(contract)].length);
    expect(operations).toBeGreaterThan(0);
    await page.screenshot({ path: join(RESULTS, 'portal-operation.png'), fullPage: false });

    expectOffline(errors);
    await page.close();
  }, 90_000);

  test('the DingTalk page renders every operation of spec/dingtalk.yaml, loading nothing from outside', async (ctx) => {
    needChromium(ctx);
    const spec = loadDingTalkSpec();
    const { page, errors } = await open('dingtalk');
    expectOffline(errors);
    await expectLocalLogo(page);
    expect(await page.title()).toBe(docsPages.dingtalk.title);
    expect(squash(await page.locator('#api-content').innerText())).toContain(String(spec.info.title));
    await page.screenshot({ path: join(RESULTS, 'portal-dingtalk.png'), fullPage: true });

    const operations = await expectEveryOperation(page, spec);
    expect(operations).toBe([...operationsOf(spec)].length);

    expectOffline(errors);
    await page.close();
  }, 90_000);

  test('the two pages link to each other', async (ctx) => {
    needChromium(ctx);
    const { page, errors } = await open('gateway');
    const bar = page.getByRole('navigation', { name: 'API reference pages' });
    expect(await bar.locator('[aria-current="page"]').getAttribute('href')).toBe(docsPages.gateway.file);

    await bar.getByRole('link', { name: /DingTalk Open API/ }).click();
    await page.waitForURL(new URL(docsPages.dingtalk.file, server.url).href);
    await waitForRedoc(page);
    expect(await page.title()).toBe(docsPages.dingtalk.title);

    await page.getByRole('navigation', { name: 'API reference pages' }).getByRole('link', { name: /Gateway API/ }).click();
    await page.waitForURL(new URL(docsPages.gateway.file, server.url).href);
    expect(await page.title()).toBe(docsPages.gateway.title);

    expectOffline(errors);
    await page.close();
  }, 60_000);
});
