import { describe, it, expect } from 'vitest';
import { z } from 'zod';
import { ConfigError, DuplicateNameError, Registry, UnknownNameError } from '../src/core/index.js';
import { envFamilies, getFamily, makeBatchedEnv, registerFamily, type EnvFamily } from '../src/envs/index.js';
import { makeTeacher, teachers } from '../src/teachers/index.js';
import { agentKinds, makeAgent, registerAgentKind, RandomAgent } from '../src/algorithms/index.js';
import { makeEvalAgent } from '../src/eval/agents.js';
import { TaskSpace } from '../src/tasks/taskSpace.js';
import { BoxSpace } from '../src/core/spaces.js';

const box = new TaskSpace('toy', { x: new BoxSpace(0, 1) });

describe('one registry shape', () => {
  it('a registry refuses a taken name, lists the known ones for an unknown name, and validates options strictly', () => {
    const r = new Registry<{ name: string; description: string; options: z.ZodType; aliases?: string[] }>('widget');
    r.register({ name: 'a', description: 'first', options: z.object({ size: z.number().default(3) }).strict(), aliases: ['alpha'] });
    expect(() => r.register({ name: 'a', description: 'again', options: z.object({}) })).toThrow(DuplicateNameError);
    expect(() => r.register({ name: 'b', description: 'alias clash', options: z.object({}), aliases: ['alpha'] })).toThrow(/widget "alpha" is already registered/);
    expect(() => r.get('c')).toThrow(UnknownNameError);
    expect(() => r.get('c')).toThrow(/unknown widget "c"; known: a/);
    expect(r.get('alpha').name).toBe('a');
    expect(r.parseOptions('a', {})).toEqual({ size: 3 });
    expect(() => r.parseOptions('a', { sise: 4 })).toThrow(/sise: unknown key/);
  });

  it('a teacher option typo (fitrate) is a named error, not an ignored option', () => {
    expect(() => makeTeacher('alp-gmm', box, 0, { fitrate: 10 })).toThrow(ConfigError);
    expect(() => makeTeacher('alp-gmm', box, 0, { fitrate: 10 })).toThrow(/alp-gmm teacher options: invalid configuration\n {2}fitrate: unknown key/);
    expect((makeTeacher('alp-gmm', box, 0, { fitRate: 10, seedEpisodes: 10 }) as unknown as { fitRate: number }).fitRate).toBe(10);
    expect(() => makeTeacher('alp-gmmx', box, 0)).toThrow(/unknown teacher "alp-gmmx"; known: random, alp-gmm/);
    expect(() => teachers.register({ ...teachers.get('riac') })).toThrow(/teacher "riac" is already registered/);
    expect(teachers.list().every((t) => t.description.length > 10)).toBe(true);
  });

  it('families, agent kinds and evaluation agents share the same errors', async () => {
    expect(() => getFamily('darkroomx')).toThrow(/unknown environment family "darkroomx"; known: bandit, linear-bandit, darkroom/);
    expect(() => registerFamily(getFamily('bandit'))).toThrow(DuplicateNameError);
    expect(() => makeBatchedEnv('darkroom', 2, { sise: 3 })).toThrow(/darkroom options: invalid configuration\n {2}sise: unknown key/);
    expect(() => registerAgentKind('ucb', z.object({}), () => new RandomAgent(), 'again')).toThrow(/agent kind "ucb" is already registered/);
    expect(() => makeAgent({ kind: 'ucbx' })).toThrow(/unknown algorithm "ucbx"; known: .*ucb/);
    expect(() => makeAgent({ kind: 'ucb', cc: 1 })).toThrow(/cc: unknown key/);
    // `type` and `kind` reach the same entry; evaluation agents come from the same registry
    expect(makeAgent({ type: 'thompson' }).name).toBe(makeAgent({ kind: 'thompson' }).name);
    await expect(makeEvalAgent({ type: 'nope' }, { source: 'x.yaml: online.agents[0]' })).rejects.toThrow(/x\.yaml: online\.agents\[0\]\.type: unknown agent type "nope"/);
    expect(agentKinds.has('model') && agentKinds.has('llm') && agentKinds.has('q-learning')).toBe(true);
    expect(() => makeAgent({ kind: 'model', checkpoint: 'x' })).toThrow(/built asynchronously/);
  });

  it('the name label reaches the factory (model and LLM agents seed their stream by it)', async () => {
    let seen: string | undefined;
    registerAgentKind('test-named', z.object({}).strict(), (_o, ctx) => {
      seen = ctx.name;
      return new RandomAgent();
    }, 'test kind that records its label');
    await makeEvalAgent({ type: 'test-named', name: 'DPT' }, { source: 'x' });
    expect(seen).toBe('DPT');
  });

  it('a user registers a family of their own from code and every caller finds it', () => {
    const base = getFamily('bandit');
    const mine: EnvFamily = { ...base, name: 'my-bandit', description: 'a bandit under another name' };
    registerFamily(mine);
    expect(envFamilies.names()).toContain('my-bandit');
    const env = makeBatchedEnv('my-bandit', 3, { arms: 4 });
    expect(env.numActions).toBe(4);
    expect(env.setting).toBe('bandit');
  });
});

describe('model kinds', () => {
  it('the trainer and the agents find a kind in the registry; an unknown kind names the field', async () => {
    const { modelKinds } = await import('../src/models/index.js');
    const { parseTrainConfig } = await import('../src/train/index.js');
    expect(modelKinds.names()).toEqual(['dpt', 'ad']);
    expect(() => modelKinds.register({ ...modelKinds.get('ad') })).toThrow(/model kind "ad" is already registered/);
    const { readConfigFile } = await import('../src/core/index.js');
    const base = readConfigFile('configs/ad-darkroom-small.yaml') as { model: Record<string, unknown> };
    const cfg = { ...base, model: { ...base.model, kind: 'adx' } };
    expect(() => parseTrainConfig(cfg, 'x.yaml')).toThrow(/model\.kind: unknown model kind "adx"; known: dpt, ad/);
    expect(() => parseTrainConfig({ ...cfg, model: { ...cfg.model, kind: 'ad', countFeatures: true } }, 'x.yaml')).toThrow(/model\.countFeatures: count features are a DPT option/);
  });
});
