/**
 * Redoc 3 (in @redocly/cli 2.77.0) loads one thing from the internet even with `--inlineBundle`:
 * the Redocly logo of its "API docs by" attribution in the sidebar footer, an `<img>` from
 * cdn.redoc.ly added after hydration. The build swaps those URLs for small inline SVG wordmarks
 * so the page needs no network (the attribution stays). offline-check.ts fails the build if any
 * cdn.redoc.ly URL survives, e.g. after a Redoc upgrade moved them.
 */

const svgDataUrl = (svg: string): string => `data:image/svg+xml,${encodeURIComponent(svg)}`;

const wordmark = (text: string, width: number): string =>
  svgDataUrl(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="12" viewBox="0 0 ${width} 12">` +
      `<text x="0" y="10" textLength="${width - 1}" lengthAdjust="spacingAndGlyphs" ` +
      `font-family="system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif" ` +
      `font-size="11" font-weight="700" fill="#0044D4">${text}</text></svg>`,
  );

/** The remote assets Redoc's code references, and their local stand-ins. */
export const REDOC_REMOTE_ASSETS: Readonly<Record<string, string>> = {
  'https://cdn.redoc.ly/redoc/logo-mini-full.svg': wordmark('Redocly', 46),
  'https://cdn.redoc.ly/redoc/logo-mini.svg': wordmark('R', 8),
};

/** `html` with every known remote Redoc asset replaced by its inline stand-in. */
export function localizeRedocAssets(html: string): string {
  let result = html;
  for (const [remote, local] of Object.entries(REDOC_REMOTE_ASSETS)) result = result.split(remote).join(local);
  return result;
}
