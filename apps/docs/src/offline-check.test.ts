import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { findExternalResources } from './offline-check.js';
import { localizeRedocAssets, REDOC_REMOTE_ASSETS } from './redoc-assets.js';
import { docsDir, docsPages } from './site.js';

describe('findExternalResources', () => {
  test('accepts inline scripts and styles, links to click, and URLs that are only text', () => {
    const html = `<!DOCTYPE html><html><head><title>t</title><style>body{margin:0}</style></head><body>
      <a href="https://redocly.com/redoc/">API docs by</a><p>Server: https://api.dingtalk.com</p>
      <svg xmlns="http://www.w3.org/2000/svg"></svg><img src="data:image/svg+xml,%3Csvg%3E" alt="">
      <script type="module">const doc = "see https://example.com"; hydrate();</script></body></html>`;
    expect(findExternalResources(html)).toEqual([]);
  });

  test('flags what a page built without --inlineBundle or with web fonts would load', () => {
    const html = `<html><head>
      <link rel="modulepreload" href="https://cdn.redocly.com/redoc/v3.0.1/bundles/redoc.standalone.js" />
      <link rel="stylesheet" href="//fonts.example.org/css?family=Roboto">
      <style>@import "https://example.org/a.css"; .x{background:url(https://example.org/bg.png)}</style>
      <script src="https://example.org/app.js"></script>
      </head><body><img src="https://example.org/logo.svg">
      <script type="module">import { hydrate } from "https://cdn.example.org/redoc.js";</script></body></html>`;
    const found = findExternalResources(html);
    expect(found).toEqual([
      expect.stringContaining('mentions cdn.redocly.com/redoc/'),
      'script loaded from a URL: <script src="https://example.org/app.js">',
      'script imports https://cdn.example.org/redoc.js',
      expect.stringContaining('element loads a URL: <link rel="modulepreload"'),
      expect.stringContaining('element loads a URL: <link rel="stylesheet"'),
      expect.stringContaining('element loads a URL: <img src="https://example.org/logo.svg"'),
      'CSS loads https://example.org/a.css',
      'CSS loads https://example.org/bg.png',
    ]);
  });

  test("flags Google Fonts and Redoc's logo CDN anywhere, also inside scripts", () => {
    const html = `<script>const f = "https://fonts.googleapis.com/css?family=Montserrat"; img.src = \`https://cdn.redoc.ly/redoc/logo-mini.svg\`;</script>`;
    expect(findExternalResources(html)).toEqual([
      expect.stringContaining('mentions fonts.googleapis.com'),
      expect.stringContaining('mentions cdn.redoc.ly'),
    ]);
  });
});

describe('localizeRedocAssets', () => {
  test('replaces every known Redoc CDN asset with an inline image', () => {
    const html = Object.keys(REDOC_REMOTE_ASSETS)
      .map((url) => `src:e?\`${url}\`:null`)
      .join(';');
    const localized = localizeRedocAssets(html);
    expect(localized).not.toContain('cdn.redoc.ly');
    for (const local of Object.values(REDOC_REMOTE_ASSETS)) {
      expect(local).toMatch(/^data:image\/svg\+xml,[^`$]+$/); // safe inside a JS template literal
      expect(localized).toContain(local);
    }
  });
});

describe('the built pages (dist/site/)', () => {
  for (const page of Object.values(docsPages)) {
    test(`${page.file} is self-contained and titled`, () => {
      const html = readFileSync(new URL(page.file, docsDir), 'utf8');
      expect(findExternalResources(html)).toEqual([]);
      expect(html).toContain(`<title>${page.title}</title>`);
      expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
      expect(html).not.toMatch(/fonts\.(googleapis|gstatic)\.com/);
      // the inlined Redoc bundle, and the links to the other page
      expect(html).toMatch(/hydrate\(__redoc_definition/);
      for (const other of Object.values(docsPages)) expect(html).toContain(`href="${other.file}"`);
    });
  }
});
