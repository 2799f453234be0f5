/**
 * What `dingtalk-gateway build-worker` embeds in the Workers bundle (`build.ts`, an esbuild
 * plugin): the config, parsed and checked at build time, and the docs portal's pages.
 */
declare module 'dingtalk-gateway:embedded' {
  import type { GatewayConfig } from '../../config/schema.js';

  export const config: GatewayConfig;
  /** The docs portal's pages by file name, as HTML text. */
  export const docsPages: ReadonlyMap<string, string>;
}
