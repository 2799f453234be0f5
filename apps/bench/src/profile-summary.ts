#!/usr/bin/env node
/**
 * Where the time goes in a V8 CPU profile (`node --cpu-prof`, or `pnpm bench -- --profile`):
 * self time per function and per package/file, top entries, as text.
 *
 *   pnpm --filter @dingtalk-gateway/bench profile-summary /tmp/dtg-bench-profiles/gateway-….cpuprofile [--top=40]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

/** Self time by key (function, or file), from the samples and their time deltas. */
export function selfTimes(profile: CpuProfile, keyOf: (frame: CallFrame) => string): SelfTime[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // The delta before sample i+1 is the time sample i stood for.
    const us = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    const key = keyOf(node.callFrame);
    totals.set(key, (totals.get(key) ?? 0) + us);
    all += us;
  }
  return [...totals.entries()].map(([name, us]) => ({ name, ms: us / 1000, share: all > 0 ? us / all : 0 })).sort((a, b) => b.ms - a.ms);
}

/**
 * Inclusive (total) time by key: a sample counts once for every distinct key on its stack. Async
 * code resumes from the microtask queue, so a function's time after an `await` is not under it.
 */
export function totalTimes(profile: CpuProfile, keyOf: (frame: CallFrame) => string): SelfTime[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (!node) break;
      seen.add(keyOf(node.callFrame));
    }
    for (const key of seen) totals.set(key, (totals.get(key) ?? 0) + us);
    all += us;
  }
  return [...totals.entries()].map(([name, us]) => ({ name, ms: us / 1000, share: all > 0 ? us / all : 0 })).sort((a, b) => b.ms - a.ms);
}

/** `hono@4.13.19`, `gateway/core/steps/observe/index.js`, `node:internal/...`: where a frame's code lives. */
export function locationOf(url: string): string {
  if (url === '') return '(native/V8)';
  const pnpm = /node_modules\/\.pnpm\/([^/]+)\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url);
  if (pnpm) return `${pnpm[2]}/${pnpm[3]}`;
  const workspace = /\/(apps|packages)\/([^/]+)\/dist\/(.*)$/.exec(url);
  if (workspace) return `${workspace[2]}/${workspace[3]}`;
  return url.replace(/^file:\/\//, '');
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } });
  const top = Number(values.top ?? '40');
  if (positionals.length === 0) {
    console.error('usage: profile-summary <file.cpuprofile> [--top=40]');
    process.exit(2);
  }
  for (const file of positionals) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const seconds = (profile.endTime - profile.startTime) / 1e6;
    console.log(`${file}: ${seconds.toFixed(1)} s, ${profile.samples.length} samples`);
    const pad = (s: SelfTime) => `${(s.share * 100).toFixed(1).padStart(5)}%  ${s.ms.toFixed(0).padStart(7)} ms  ${s.name}`;
    console.log('\nSelf time by function:');
    for (const s of selfTimes(profile, (f) => `${f.functionName || '(anonymous)'}  ${locationOf(f.url)}:${f.lineNumber + 1}`).slice(0, top)) console.log(pad(s));
    console.log('\nTotal (inclusive) time by function:');
    for (const s of totalTimes(profile, (f) => `${f.functionName || '(anonymous)'}  ${locationOf(f.url)}:${f.lineNumber + 1}`).slice(0, top)) console.log(pad(s));
    console.log('\nSelf time by file:');
    for (const s of selfTimes(profile, (f) => locationOf(f.url)).slice(0, top)) console.log(pad(s));
    console.log('\nSelf time by package:');
    for (const s of selfTimes(profile, (f) => locationOf(f.url).split('/').slice(0, locationOf(f.url).startsWith('@') ? 2 : 1).join('/')).slice(0, 20)) console.log(pad(s));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
