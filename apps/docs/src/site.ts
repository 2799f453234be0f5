/**
 * Where the built portal is. Resolved from the package root so it is the same whether this
 * module runs from `src/` (tests) or `dist/`.
 */

/** The folder with the built pages (`apps/docs/dist/site/`), as a file URL ending in `/`. */
export const docsDir: URL = new URL('../dist/site/', import.meta.url);

/** The pages in {@link docsDir}, by the contract each documents. */
export const docsPages = {
  gateway: { file: 'index.html', title: 'DingTalk Gateway API' },
  dingtalk: { file: 'dingtalk.html', title: 'DingTalk Open API (upstream)' },
} as const;

export type DocsPage = keyof typeof docsPages;
