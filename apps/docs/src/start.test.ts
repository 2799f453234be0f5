import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { docsPages } from './site.js';

const start = fileURLToPath(new URL('../dist/start.js', import.meta.url));

test('`start` serves the built portal on loopback at the port from DOCS_PORT and prints the URL', async () => {
  const child = spawn(process.execPath, [start], { env: { ...process.env, DOCS_PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const lines = createInterface({ input: child.stdout! });
    let url: string | undefined;
    for await (const line of lines) {
      url = /^Docs portal: (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(line)?.[1];
      if (url) break;
    }
    expect(url).toBeDefined();
    for (const page of Object.values(docsPages)) {
      const res = await fetch(new URL(page.file, url));
      expect(res.status).toBe(200);
      expect(await res.text()).toContain(`<title>${page.title}</title>`);
    }
    expect((await fetch(url!)).headers.get('content-type')).toBe('text/html; charset=utf-8');
  } finally {
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  }
}, 20_000);

test('`start` refuses a DOCS_PORT that is not a port', async () => {
  const child = spawn(process.execPath, [start], { env: { ...process.env, DOCS_PORT: 'eighty' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  expect(code).toBe(1);
  expect(stderr).toContain('DOCS_PORT must be a port number');
});
