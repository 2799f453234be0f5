/** `pnpm --filter @dingtalk-gateway/docs start`: serve the built portal on loopback. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_DOCS_PORT, startDocsServer } from './server.js';
import { docsDir, docsPages } from './site.js';

const rawPort = process.env.DOCS_PORT?.trim() || String(DEFAULT_DOCS_PORT);
const port = Number(rawPort);
if (!/^\d+$/.test(rawPort) || port > 65535) {
  console.error(`DOCS_PORT must be a port number (0-65535), got ${JSON.stringify(process.env.DOCS_PORT)}`);
  process.exit(1);
}
for (const page of Object.values(docsPages)) {
  const file = fileURLToPath(new URL(page.file, docsDir));
  if (!existsSync(file)) {
    console.error(`${file} is missing: build the portal first (pnpm --filter @dingtalk-gateway/docs... build).`);
    process.exit(1);
  }
}

const docs = await startDocsServer({ port });
console.log(`Docs portal: ${docs.url}`);
for (const page of Object.values(docsPages)) console.log(`  ${page.title}: ${new URL(page.file, docs.url)}`);
console.log('Press Ctrl+C to stop.');

const stop = (): void => {
  docs.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
