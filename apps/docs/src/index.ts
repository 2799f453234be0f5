/**
 * The offline docs portal. `pnpm --filter @dingtalk-gateway/docs build` renders, with Redoc and
 * everything it needs inlined (no CDN script, no web fonts), two self-contained pages into
 * `dist/site/`:
 *
 * - `index.html`: the gateway's public contract (`@dingtalk-gateway/spec`'s `gateway.yaml`);
 * - `dingtalk.html`: DingTalk's own API as DingTalk serves it (`spec/dingtalk.yaml`).
 *
 * The pages link to each other with relative links, so serve the folder as is under a path
 * ending in `/` (e.g. `/docs/`, with `/docs` redirected to it):
 *
 * ```ts
 * import { docsDir, docsPages } from '@dingtalk-gateway/docs';
 * const gatewayPage = new URL(docsPages.gateway.file, docsDir); // file:///…/apps/docs/dist/site/index.html
 * ```
 *
 * `pnpm --filter @dingtalk-gateway/docs start` serves the folder on http://127.0.0.1:8788/
 * (`DOCS_PORT` to change the port), see {@link startDocsServer}.
 */
export { docsDir, docsPages, type DocsPage } from './site.js';
export { startDocsServer, DEFAULT_DOCS_PORT, type DocsServer, type DocsServerOptions } from './server.js';
