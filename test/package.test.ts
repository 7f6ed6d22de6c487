// The package as a user gets it: `npm pack`, install the tarball into a fresh project, compile a
// small TypeScript program against its types with `tsc --strict` and run it. The program imports the
// root and subpaths of the exports map, creates and steps a batched environment, evaluates Thompson
// sampling on held-out bandits and reports the kernels in use, which must be the WebAssembly ones
// loaded from the installed copy.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAsync, type SpawnResult } from './helpers/spawn.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { name: string; version: string; exports: Record<string, string | { types: string; default: string }>; bin: Record<string, string> };

// child processes see no kernel switches of the environment the tests run in
const childEnv: NodeJS.ProcessEnv = { ...process.env };
for (const k of ['ICRL_NN_KERNELS', 'ICRL_RNG', 'ICRL_NN_QUIET', 'NODE_OPTIONS']) delete childEnv[k];

// asynchronous: a compile that holds the worker's event loop for a minute times out vitest's RPC
async function run(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<SpawnResult> {
  const r = await spawnAsync(cmd, args, { cwd, env: childEnv, timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited with ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r;
}

const program = `import { makeBatchedEnv, splitTasks, makeAgent, evaluateOnline, summarizeSteps, kernelInfo, Rng, nn, type StepRecord } from 'icrl';
import { familyNames } from 'icrl/envs';
import { meanCi } from 'icrl/eval';

const env = makeBatchedEnv('bandit', 64, { arms: 5, noiseSd: 0.3 }, new Rng(1));
const tasks = splitTasks(env.taskSpace, { seed: 0, heldOut: 64, train: 1 }).heldOut;
env.setTasks(tasks);
env.reset(7);
env.step(new Int32Array(env.numEnvs).fill(2));
const stepped: number = meanCi(env.rewards).mean;
const rec = await evaluateOnline(makeAgent({ kind: 'thompson' }), env, tasks, { steps: 200, seed: 0, progress: false });
const regret: number = summarizeSteps(rec as StepRecord).finalRegret.mean;
const y = nn.matmul(nn.tensor([1, 2, 3, 4], [2, 2]), nn.tensor([0, 1, 1, 0], [2, 2]));
console.log(JSON.stringify({ kernels: kernelInfo(), mode: rec.mode, regret, stepped, matmul: Array.from(y.data), families: familyNames() }));
`;

describe('the npm package', () => {
  let tmp = '';
  let tarFiles: string[] = [];
  let project = '';

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'icrl-pack-'));
    // the build: test/globalSetup.ts compiled dist/; the kernels come from `npm install` / `npm ci`
    if (!existsSync(join(repo, 'build/nn/kernels.wasm')) || !existsSync(join(repo, 'build/core/rng.wasm'))) await run('npm', ['run', 'build:wasm'], repo);
    if (!existsSync(join(repo, 'dist/index.js'))) await run('npx', ['tsc', '-p', 'tsconfig.build.json'], repo);
    // --ignore-scripts: `prepare` would rebuild everything (slow); what it builds is there already
    const packed = JSON.parse((await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], repo)).stdout) as { filename: string; files: { path: string }[] }[];
    tarFiles = packed[0].files.map((f) => f.path);
    const tgz = join(tmp, packed[0].filename);

    project = join(tmp, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'icrl-user', private: true, type: 'module' }, null, 2));
    // dependencies come from the registry (or npm's cache, filled by the repository's own install)
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tgz], project, 180_000);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2022'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          // @types/node of the repository (no download); the package's own .d.ts files are checked too
          typeRoots: [join(repo, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['main.ts'],
      }),
    );
    writeFileSync(join(project, 'main.ts'), program);
  }, 240_000);

  afterAll(() => {
    if (tmp && !process.env.ICRL_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
  });

  it('ships dist/, the compiled kernels, the CLI and its configs, and nothing of test/, .ci/, src/ or assembly/', () => {
    expect(tarFiles).toContain('build/nn/kernels.wasm');
    expect(tarFiles).toContain('build/core/rng.wasm');
    expect(tarFiles).toContain('bin/icrl.js');
    expect(tarFiles).toContain('configs/quickstart.yaml');
    expect(tarFiles).toContain('README.md');
    expect(tarFiles).toContain('dist/envs/mujoco/models/half_cheetah.xml');
    expect(tarFiles.filter((f) => /^(test|\.ci|src|assembly|bench|docs|runs|node_modules)\//.test(f))).toEqual([]);
    expect(tarFiles.filter((f) => f.endsWith('.map'))).toEqual([]); // they point at src/, which is not shipped
    // every target of the exports map and of bin is in the tarball
    for (const [key, target] of Object.entries(pkg.exports)) {
      const paths = typeof target === 'string' ? [target] : [target.types, target.default];
      for (const p of paths) expect(tarFiles, `exports["${key}"] -> ${p}`).toContain(p.replace(/^\.\//, ''));
    }
    for (const bin of Object.values(pkg.bin)) expect(tarFiles).toContain(bin.replace(/^\.\//, ''));
  });

  it('installs without running the build (no prepare for a tarball) and its command runs', async () => {
    const installed = join(project, 'node_modules', pkg.name);
    expect(existsSync(join(installed, 'build/nn/kernels.wasm'))).toBe(true);
    expect(existsSync(join(installed, 'test'))).toBe(false);
    // `prepare` (the build, with the devDependency assemblyscript) does not run for a tarball:
    // a rebuild would have written the source maps that the tarball leaves out
    expect(existsSync(join(installed, 'dist/index.js'))).toBe(true);
    expect(existsSync(join(installed, 'dist/index.js.map'))).toBe(false);
    const help = (await run(join(project, 'node_modules/.bin/icrl'), ['--help'], project)).stdout;
    expect(help).toContain('quickstart');
  }, 60_000);

  it('compiles a user program with tsc --strict and runs it on the WebAssembly kernels of the installed copy', async () => {
    await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--strict'], project);
    const r = await run(process.execPath, ['main.js'], project);
    expect(r.stderr).not.toMatch(/unavailable|reference kernels/);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      kernels: { nn: string; nnWasmLoaded: boolean; rng: string };
      mode: string;
      regret: number;
      stepped: number;
      matmul: number[];
      families: string[];
    };
    expect(out.kernels).toEqual({ nn: 'wasm', nnWasmLoaded: true, rng: 'wasm' });
    expect(out.mode).toBe('steps');
    expect(out.families).toContain('bandit');
    expect(out.matmul).toEqual([2, 1, 4, 3]);
    expect(Number.isFinite(out.stepped)).toBe(true);
    // Thompson sampling over 200 pulls of 5 arms: far below a uniformly random agent's ~0.2 per pull
    expect(out.regret).toBeGreaterThan(0);
    expect(out.regret).toBeLessThan(20);
  }, 120_000);
});
