/**
 * `createGateway` must run on any runtime with Web-standard APIs: nothing it loads, through its
 * own modules, may import a Node built-in. (The Node entry, node/, wires the Node-specific parts.)
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = dirname(new URL(import.meta.url).pathname);
// `import ... from` and `export ... from`, but not `import type` / `export type`.
const IMPORT = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

function valueImports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => m[1]!);
}

function reachableFrom(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const imports = valueImports(file);
    seen.set(file, imports);
    for (const spec of imports) if (spec.startsWith('.')) visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
  };
  visit(entry);
  return seen;
}

describe('the gateway core', () => {
  it('imports no Node built-in, directly or through its own modules', () => {
    const graph = reachableFrom(join(root, 'create-gateway.ts'));
    expect(graph.size).toBeGreaterThan(10);
    const offenders = [...graph].flatMap(([file, imports]) => imports.filter((s) => s.startsWith('node:')).map((s) => `${relative(root, file)} → ${s}`));
    expect(offenders).toEqual([]);
  });

  it('the check sees a Node import when there is one', () => {
    const graph = reachableFrom(join(root, 'node', 'server.ts'));
    expect([...graph.values()].flat()).toContain('node:fs');
  });
});
