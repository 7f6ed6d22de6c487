// Task-conditioned deep-RL students driven by teachers (src/rl/student.ts) and the deep-student
// curriculum experiment (src/experiments/deepCurriculum.ts): the observation layout, the teacher's
// choice at every episode end, same seed same result, and the experiment's scores and report.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import type { BoxSpace } from '../src/core/spaces.js';
import { pointRobotFamily } from '../src/envs/pointRobot.js';
import { cheetahVelTaskSpace } from '../src/envs/mujoco/cheetah.js';
import type { Task } from '../src/tasks/taskSpace.js';
import { makeTeacher } from '../src/teachers/index.js';
import { PpoAgent, SacAgent, TaskConditionedEnv, TeacherChooser, evaluateGreedyDetailed, ppoHooks, sacHooks, trainStudents, type EndedEpisode, type GreedyActor, type TaskChooser } from '../src/rl/index.js';
import { getFamily, prepareFamily } from '../src/envs/index.js';
import { reachSplit } from '../src/envs/mujoco/tabletop.js';
import { join } from 'node:path';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadConfig } from '../src/core/config.js';
import { reproductions } from '../src/experiments/index.js';
import { DEEP_CURRICULUM_CONFIG, deepCurriculumConfigSchema, deepCurriculumScores, deepCurriculumSections, runDeepCurriculum, uniformTestTasks } from '../src/experiments/deepCurriculum.js';

const angle = (a: number): Task => ({ family: 'point-robot', params: { angle: a } });

/** hands out angles from a list in turn per instance and records every call */
class ListChooser implements TaskChooser {
  calls: { i: number; ended: EndedEpisode | null; gave: number }[] = [];
  private k = 0;
  constructor(readonly angles: number[]) {}
  next(i: number, ended: EndedEpisode | null): Task {
    const a = this.angles[this.k++ % this.angles.length];
    this.calls.push({ i, ended, gave: a });
    return angle(a);
  }
}

describe('TaskConditionedEnv', () => {
  it('appends each instance\'s task in unit coordinates to its observation (and to finalObs, with the ended task)', () => {
    const inner = pointRobotFamily.make(3, { horizon: 4 });
    const d0 = inner.obsDim;
    const chooser = new ListChooser([0.5, 1.5, 3, Math.PI, 0, 2]);
    const env = new TaskConditionedEnv(inner, chooser);
    expect(env.obsDim).toBe(inner.obsDim + 1);
    const box = env.observationSpace as BoxSpace;
    expect(box.spec.low.length).toBe(env.obsDim);
    expect([box.spec.low[d0], box.spec.high[d0]]).toEqual([0, 1]);
    env.reset();
    const D = env.obsDim;
    const d = inner.obsDim;
    const unitOf = (i: number): number => (inner.getTask!(i).params.angle as number) / Math.PI;
    const check = (): void => {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < d; j++) expect(env.obs[i * D + j]).toBe(inner.obs[i * d + j]);
        expect(env.obs[i * D + d]).toBeCloseTo(unitOf(i), 6);
        expect(env.getTask(i).params.angle).toBe(inner.getTask!(i).params.angle);
      }
    };
    expect([0, 1, 2].map((i) => inner.getTask!(i).params.angle)).toEqual([0.5, 1.5, 3]);
    check();
    const act = new Float32Array(3 * inner.actDim).fill(0.05);
    for (let t = 0; t < 4; t++) {
      const before = [0, 1, 2].map(unitOf);
      env.step(act);
      check();
      if (t === 3) {
        // the episode ended: finalObs carries the inner final observation and the task that was played
        for (let i = 0; i < 3; i++) {
          expect(env.truncated[i]).toBe(1);
          for (let j = 0; j < d; j++) expect(env.finalObs[i * D + j]).toBe(inner.finalObs[i * d + j]);
          expect(env.finalObs[i * D + d]).toBeCloseTo(before[i], 6);
        }
        expect([0, 1, 2].map((i) => inner.getTask!(i).params.angle)).toEqual([Math.PI, 0, 2]);
      }
    }
  });

  it('asks the chooser at every episode end, with the task played and its return', () => {
    const inner = pointRobotFamily.make(2, { horizon: 5 });
    const chooser = new ListChooser([0.3, 2.8, 1.1, 0.9, 2.2, 1.7, 0.4, 2.5]);
    const env = new TaskConditionedEnv(inner, chooser);
    env.reset();
    const act = new Float32Array(2 * inner.actDim);
    const rng = new Rng(4);
    const ret = [0, 0];
    const played: number[][] = [[], []];
    for (let t = 0; t < 15; t++) {
      for (let k = 0; k < act.length; k++) act[k] = (rng.uniform() - 0.5) * 0.2;
      const tasks = [0, 1].map((i) => env.getTask(i).params.angle as number);
      env.step(act);
      for (let i = 0; i < 2; i++) {
        ret[i] += env.rewards[i];
        if (env.truncated[i]) {
          played[i].push(tasks[i]);
          const call = chooser.calls.filter((c) => c.i === i && c.ended)[played[i].length - 1];
          expect(call.ended!.task.params.angle).toBe(tasks[i]);
          expect(call.ended!.ret).toBeCloseTo(ret[i], 4);
          expect(env.getTask(i).params.angle).toBe(call.gave);
          ret[i] = 0;
        }
      }
    }
    // 2 initial choices + 3 episode ends per instance
    expect(chooser.calls.length).toBe(8);
    expect(env.episodes[0]).toBe(3);
  });

  it('on a MuJoCo family (cheetah-vel, [0, 10] m/s): each episode end moves that instance to its next velocity', async () => {
    await prepareFamily('cheetah-vel');
    const eo = { maxVelocity: 10, horizon: 3 };
    const vel: TaskChooser = { next: (i, ended) => ({ family: 'cheetah-vel', params: { velocity: ended ? ((ended.task.params.velocity as number) + 1 + i) % 10 : 2 * i } }) };
    const env = new TaskConditionedEnv(getFamily('cheetah-vel').make(2, eo, new Rng(0)), vel);
    env.reset();
    expect(env.obsDim).toBe(21);
    expect([env.obs[20], env.obs[41]]).toEqual([0, 0.2].map((x) => Math.fround(x)));
    const a = new Float32Array(12);
    for (let t = 0; t < 6; t++) env.step(a);
    // two episodes each: 0 -> 1 -> 2 and 2 -> 4 -> 6
    expect([0, 1].map((i) => env.getTask(i).params.velocity)).toEqual([2, 6]);
    expect([env.obs[20], env.obs[41]]).toEqual([0.2, 0.6].map((x) => Math.fround(x)));
    expect([env.finalObs[20], env.finalObs[41]]).toEqual([0.1, 0.4].map((x) => Math.fround(x)));
    env.close();
  });

  it('TeacherChooser gives each instance its own teacher and tells it every return', () => {
    const space = pointRobotFamily.taskSpace();
    const teachers = [0, 1, 2].map((s) => makeTeacher('random', space, new Rng(s)));
    const env = new TaskConditionedEnv(pointRobotFamily.make(3, { horizon: 3 }), new TeacherChooser(teachers));
    env.reset();
    const act = new Float32Array(3 * env.actDim);
    for (let t = 0; t < 9; t++) env.step(act);
    expect(teachers.map((t) => t.episodes)).toEqual([3, 3, 3]);
    // robust PLR proposes evaluation-only tasks, which a deep student cannot skip
    const robust = makeTeacher('robust-plr', space, new Rng(0), { bufferSize: 2, rho: 1 });
    const env2 = new TaskConditionedEnv(pointRobotFamily.make(1, { horizon: 1 }), new TeacherChooser([robust]));
    expect(() => env2.reset()).toThrow(/evaluation-only/);
  });
});

describe('trainStudents', () => {
  const run = (algo: 'sac' | 'ppo', seed: number) => {
    const space = pointRobotFamily.taskSpace();
    const teachers = ['random', 'alp-gmm', 'random', 'adr'].map((name, i) => makeTeacher(name, space, new Rng(seed).split(`t${i}`), name === 'alp-gmm' ? { fitRate: 4, ks: [2, 3] } : {}));
    const env = new TaskConditionedEnv(pointRobotFamily.make(4, { horizon: 10 }), new TeacherChooser(teachers));
    const evalEnv = new TaskConditionedEnv(pointRobotFamily.make(4, { horizon: 10 }));
    const agent = algo === 'sac' ? new SacAgent({ hidden: [8, 8], batchSize: 8, learningStarts: 20 }) : new PpoAgent({ hidden: [8, 8], numSteps: 20, numMinibatches: 2, updateEpochs: 2 });
    const curves = trainStudents({ agent, env, evalEnv, testTasks: [angle(0.4), angle(2.6)], steps: 60, evalEvery: 30, rng: new Rng(seed) });
    return { curves, params: [0, 1, 2, 3].map((i) => Array.from(algo === 'sac' ? (agent as SacAgent).learners!.actor.parameters().flatMap((p) => Array.from(p.data.subarray((p.data.length / 4) * i, (p.data.length / 4) * (i + 1)))) : (agent as PpoAgent).learners!.learnerParams(i))) };
  };

  it('records each teacher-chosen episode per student, evaluates on the test tasks, and repeats exactly with the same seed', () => {
    for (const algo of ['sac', 'ppo'] as const) {
      const a = run(algo, 1);
      const b = run(algo, 1);
      expect(a.curves.steps).toEqual([0, 30, 60]);
      expect(a.curves.testReturns.length).toBe(3);
      expect(a.curves.testReturns[0].length).toBe(4);
      expect(a.curves.testReturns[0][0].length).toBe(2);
      expect(a.curves.chosen.map((c) => c.length)).toEqual([6, 6, 6, 6]);
      expect(b.curves.testReturns).toEqual(a.curves.testReturns);
      expect(b.curves.chosen).toEqual(a.curves.chosen);
      expect(b.params).toEqual(a.params);
      // the ADR student starts at the centre of the box and its first tasks stay near it
      expect(Math.abs((a.curves.chosen[3][0].task.params.angle as number) - Math.PI / 2)).toBeLessThan(0.2);
      const c = run(algo, 2);
      expect(c.curves.chosen).not.toEqual(a.curves.chosen);
    }
  });
});

describe('trainStudents resume points', () => {
  const setup = (algo: 'sac' | 'ppo', file: string) => {
    const space = pointRobotFamily.taskSpace();
    const teachers = ['random', 'alp-gmm', 'plr'].map((name, i) => makeTeacher(name, space, new Rng(3).split(`t${i}`), name === 'alp-gmm' ? { fitRate: 4, ks: [2, 3] } : name === 'plr' ? { bufferSize: 4 } : {}));
    const env = new TaskConditionedEnv(pointRobotFamily.make(3, { horizon: 10 }), new TeacherChooser(teachers));
    const evalEnv = new TaskConditionedEnv(pointRobotFamily.make(3, { horizon: 10 }));
    const agent = algo === 'sac' ? new SacAgent({ hidden: [8, 8], batchSize: 8, learningStarts: 20 }) : new PpoAgent({ hidden: [8, 8], numSteps: 15, numMinibatches: 1, updateEpochs: 1 });
    const hooks = agent instanceof SacAgent ? sacHooks(agent).resumable : ppoHooks(agent).resumable;
    const params = () => (agent instanceof SacAgent ? agent.learners!.actor.parameters().flatMap((p) => Array.from(p.data)) : [0, 1, 2].flatMap((i) => Array.from((agent as PpoAgent).learners!.learnerParams(i))));
    return { agent, env, evalEnv, teachers, params, resume: { file, every: 20, runId: { test: algo }, hooks, teachers } };
  };

  /** runs trainStudents, throwing 'killed' at training step `killAt` (never when absent) */
  const train = (r: ReturnType<typeof setup>, killAt: number | null, runId: unknown = r.resume.runId) => {
    let n = 0;
    const step = r.env.step.bind(r.env);
    r.env.step = (act) => {
      if (++n === killAt) throw new Error('killed');
      step(act);
    };
    return trainStudents({ ...r, resume: { ...r.resume, runId }, testTasks: [angle(0.4), angle(2.6)], steps: 70, evalEvery: 30, rng: new Rng(5) });
  };

  it('a run killed after a resume point continues to the same curves, choices and learners (SAC and PPO)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-student-resume-'));
    try {
      for (const algo of ['sac', 'ppo'] as const) {
        const file = join(dir, `${algo}.safetensors`);
        const whole = setup(algo, file);
        const a = train(whole, null);
        expect(existsSync(file)).toBe(false);
        // killed at step 50: the resume points of steps 20 and 40 were written, the last one stays
        expect(() => train(setup(algo, file), 50)).toThrow('killed');
        expect(existsSync(file)).toBe(true);
        const resumed = setup(algo, file);
        const b = train(resumed, null);
        expect(b.steps).toEqual([0, 30, 60, 70]);
        expect(b.steps).toEqual(a.steps);
        expect(b.testReturns).toEqual(a.testReturns);
        expect(b.chosen).toEqual(a.chosen);
        expect(resumed.params()).toEqual(whole.params());
        expect(resumed.teachers.map((t) => t.episodes)).toEqual(whole.teachers.map((t) => t.episodes));
        expect(existsSync(file)).toBe(false);
      }
      // a resume point of another run is refused
      const file = join(dir, 'other.safetensors');
      expect(() => train(setup('sac', file), 30)).toThrow('killed');
      expect(() => train(setup('sac', file), null, { test: 'another' })).toThrow(/another run/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('greedy success rate (learningCurves on families that report success)', () => {
  it('counts the episodes that ended in success: the scripted expert succeeds on reach, a still hand does not', async () => {
    await prepareFamily('reach');
    const tasks = reachSplit(0).train.slice(0, 2);
    const env = getFamily('reach').make(2);
    env.setTasks(tasks);
    const expert: GreedyActor = {
      name: 'expert',
      reset: () => {},
      act: () => {},
      observe: () => {},
      actGreedy: (_obs, out) => {
        const a = new Float32Array(4);
        for (let i = 0; i < 2; i++) {
          env.expertAction!(i, a);
          (out as Float32Array).set(a, 4 * i);
        }
      },
    };
    const still: GreedyActor = { ...expert, name: 'still', actGreedy: (_obs, out) => (out as Float32Array).fill(0) };
    expect(evaluateGreedyDetailed(expert, env, 2).success).toEqual([1, 1]);
    expect(evaluateGreedyDetailed(still, env, 1).success).toEqual([0, 0]);
    // families without success flags give none
    expect(evaluateGreedyDetailed(still, pointRobotFamily.make(2), 1).success).toBeNull();
    (env as { close?: () => void }).close?.();
  });
});

describe('deep-student curriculum experiment', () => {
  it('cheetah-vel takes maxVelocity as the top of its velocity box', () => {
    expect(() => cheetahVelTaskSpace().check({ family: 'cheetah-vel', params: { velocity: 9 } })).toThrow();
    const s = cheetahVelTaskSpace({ maxVelocity: 10 });
    expect(s.check({ family: 'cheetah-vel', params: { velocity: 9 } }).params.velocity).toBe(9);
    const tt = uniformTestTasks(s, 10, new Rng(0)).map((t) => t.params.velocity as number);
    expect(tt.map((v) => Number(v.toFixed(6)))).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5]);
  });

  it('the shipped config validates, compares the six teachers and its test set spans [0, 10] m/s', () => {
    const cfg = loadConfig(deepCurriculumConfigSchema, join('configs', DEEP_CURRICULUM_CONFIG));
    expect(cfg.teachers.slice().sort()).toEqual(['adr', 'alp-gmm', 'covar-gmm', 'plr', 'random', 'riac']);
    expect(cfg.family).toBe('cheetah-vel');
    expect(cheetahVelTaskSpace(cfg.envOptions).params.spaces.velocity.contains(10)).toBe(true);
    const entry = reproductions.get('alp-gmm-cheetah');
    for (const c of entry.claims) expect(cfg.teachers).toContain(c.left.agent);
  });

  it('trains one student per teacher and seed and scores them on the test set', async () => {
    const cfg = deepCurriculumConfigSchema.parse({
      family: 'point-robot',
      envOptions: { horizon: 10 },
      teachers: ['random', 'alp-gmm'],
      teacherOptions: { 'alp-gmm': { fitRate: 4, ks: [2, 3] } },
      returnRange: [-30, 0],
      student: { algo: 'sac', options: { hidden: [8, 8], batchSize: 8, learningStarts: 20 }, steps: 40, evalEvery: 20 },
      testTasks: 3,
    });
    const r = await runDeepCurriculum(cfg, [0, 1]);
    expect(r.learners).toBe(4);
    expect(r.steps).toEqual([0, 20, 40]);
    const scores = deepCurriculumScores(r);
    expect([...scores.keys()].sort()).toEqual(['alp-gmm:meanReturn', 'alp-gmm:score', 'random:meanReturn', 'random:score']);
    const final = scores.get('random:score')!;
    expect(final.length).toBe(2);
    expect(final[1]).toEqual(r.testReturns.random[1][2]);
    const m = scores.get('alp-gmm:meanReturn')!;
    const ev = r.testReturns['alp-gmm'][0];
    expect(m[0][1]).toBeCloseTo((ev[0][1] + ev[1][1] + ev[2][1]) / 3, 9);
    const sections = deepCurriculumSections(r);
    expect(sections[0].charts!.length).toBe(1);
    const again = await runDeepCurriculum(cfg, [0, 1]);
    expect(again.testReturns).toEqual(r.testReturns);
    await expect(runDeepCurriculum({ ...cfg, teachers: ['alp-gmm'] }, [0])).rejects.toThrow(/random/);
  });
});
