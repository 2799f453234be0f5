// Fails when `turbo run generate` (part of every build) changed generated files that are
// checked in: the spec changed and the generated types were not regenerated and committed.
import { execFileSync } from 'node:child_process';

const generated = ['packages/*/src/generated'];
const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=all', '--', ...generated], { encoding: 'utf8' }).trim();
if (changed) {
  console.error(`Generated files are stale (the spec changed since they were generated):\n${changed}\n` +
    'Run `npx -y pnpm@10 generate` and commit the result.');
  process.exit(1);
}
console.log('generated files: up to date with the spec');
