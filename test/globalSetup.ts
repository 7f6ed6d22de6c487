// Builds dist/ once before the tests: worker threads and the CLI tests run compiled JavaScript.
// Type errors do not stop the tests here (tsc still emits); `npm run typecheck` reports them.
import { spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';

export default function setup(): void {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (r.status !== 0) process.stderr.write('globalSetup: tsc reported errors; tests run against what it emitted\n');
  // the MuJoCo model files ship in dist/ (as `npm run build:models` copies them)
  cpSync('src/envs/mujoco/models', 'dist/envs/mujoco/models', { recursive: true });
}
