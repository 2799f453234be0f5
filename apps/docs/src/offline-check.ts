/**
 * A static check that a built page loads nothing from outside the machine: no `<script src>`,
 * no stylesheet, preload, icon, image or frame from an absolute URL, no CSS `url()`/`@import`
 * of one, no web fonts and no Redoc CDN bundle. Links a reader may click (`<a href>`) and URLs
 * that are only text (server URLs, examples, strings inside Redoc's code) are fine. The browser
 * test (portal.test.ts) checks the same at run time by blocking every non-local request.
 */

/** Hosts whose mere mention means the page was built to load from them. */
const FORBIDDEN_HOSTS = [
  'fonts.googleapis.com',
  'fonts.gstatic.com',
  'cdn.redocly.com/redoc/', // the Redoc bundle, when built without --inlineBundle
  'cdn.redoc.ly', // Redoc's attribution logo (see redoc-assets.ts)
  'unpkg.com',
  'cdn.jsdelivr.net',
];

const SCRIPT_ELEMENT = /<script\b[^>]*>[\s\S]*?<\/script\s*>/gi;
const EXTERNAL = String.raw`(?:[a-z][a-z0-9+.-]*:)?\/\/`; // http://, https://, //host

export function findExternalResources(html: string): string[] {
  const found: string[] = [];
  const snippet = (text: string): string => (text.length > 160 ? `${text.slice(0, 157)}...` : text);

  for (const host of FORBIDDEN_HOSTS) {
    const at = html.indexOf(host);
    if (at >= 0) found.push(`mentions ${host}: ${snippet(html.slice(Math.max(0, at - 60), at + 80))}`);
  }

  // The markup outside inline scripts (Redoc's prerendered HTML, styles, the template).
  const scripts = html.match(SCRIPT_ELEMENT) ?? [];
  const markup = html.replace(SCRIPT_ELEMENT, '');
  for (const script of scripts) {
    const open = script.slice(0, script.indexOf('>') + 1);
    if (/\ssrc\s*=/i.test(open)) found.push(`script loaded from a URL: ${snippet(open)}`);
    // an ES module that imports from a URL, e.g. `import { hydrate } from "https://cdn…"`
    const imported = new RegExp(String.raw`\b(?:import|from)\s*\(?\s*["'\`](${EXTERNAL}[^"'\`]+)`, 'i').exec(script);
    if (imported) found.push(`script imports ${imported[1]}`);
  }
  const tags = markup.match(/<(?:link|img|iframe|source|embed|object|video|audio|image|use)\b[^>]*>/gi) ?? [];
  for (const tag of tags) {
    if (new RegExp(String.raw`\s(?:src|href|srcset|data|xlink:href|poster)\s*=\s*["']?\s*${EXTERNAL}`, 'i').test(tag)) {
      found.push(`element loads a URL: ${snippet(tag)}`);
    }
  }
  for (const match of markup.matchAll(new RegExp(String.raw`url\(\s*["']?(${EXTERNAL}[^)"']+)|@import\s+["'](${EXTERNAL}[^"']+)`, 'gi'))) {
    found.push(`CSS loads ${match[1] ?? match[2]}`);
  }
  return found;
}
