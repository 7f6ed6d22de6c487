// Modules, KV-cache decoding, AdamW, schedule, clipping, and safetensors files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import * as nn from '../src/nn/index.js';
import { paramGradError } from './helpers/gradcheck.js';

const dir = mkdtempSync(join(tmpdir(), 'icrl-nn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function small(seed = 0): nn.GPT {
  return new nn.GPT({ nLayers: 2, dModel: 16, nHeads: 2, maxLen: 12, inDim: 3, nOut: 4 }, new Rng(seed));
}

function input(rng: Rng, B: number, T: number, d: number): nn.Tensor {
  const x = nn.zeros([B, T, d]);
  rng.fillNormal(x.data);
  return nn.keep(x);
}

describe('modules', () => {
  it('names parameters by path and initialises reproducibly', () => {
    const a = small(1);
    const names = a.namedParameters().map(([n]) => n);
    expect(names).toContain('transformer.blocks.1.attn.qkv.weight');
    expect(names).toContain('transformer.lnF.bias');
    expect(names).toContain('head.weight');
    const b = small(1);
    expect([...b.transformer.blocks[0].ffn.constructor.name]).toBeTruthy();
    expect([...a.parameters()[5].data]).toEqual([...b.parameters()[5].data]);
  });

  it('MLP with more hidden layers: named mid.<i>, one layer unchanged, gradients match finite differences', () => {
    const one = new nn.MLP(4, 6, new Rng(3), 'gelu', 2);
    expect(one.namedParameters().map(([n]) => n)).toEqual(['fc.weight', 'fc.bias', 'out.weight', 'out.bias']);
    // the default draws are the same as with hiddenLayers 1 spelled out, and the first and last layers of a deeper MLP too
    const deep = new nn.MLP(4, 6, new Rng(3), 'gelu', 2, 3);
    expect(deep.namedParameters().map(([n]) => n)).toEqual(['fc.weight', 'fc.bias', 'mid.0.weight', 'mid.0.bias', 'mid.1.weight', 'mid.1.bias', 'out.weight', 'out.bias']);
    expect([...deep.fc.weight.data]).toEqual([...one.fc.weight.data]);
    expect([...deep.out.weight.data]).toEqual([...one.out.weight.data]);
    expect(() => new nn.MLP(4, 6, new Rng(3), 'gelu', 2, 0)).toThrow(/hiddenLayers/);
    const rng = new Rng(4);
    const x = input(rng, 1, 5, 4);
    const R = Float32Array.from({ length: 10 }, () => rng.normal());
    // the forward pass is the composition of the layers
    const manual = nn.noGrad(() => nn.tidy(() => deep.out.forward(nn.gelu(deep.mid[1].forward(nn.gelu(deep.mid[0].forward(nn.gelu(deep.fc.forward(x))))))).toArray()));
    expect([...nn.noGrad(() => nn.tidy(() => deep.forward(x).toArray()))]).toEqual([...manual]);
    expect(paramGradError(() => deep.forward(x), [deep.mid[0].weight], R, 5)).toBeLessThan(1);
  });

  it('KV-cache decoding reproduces the full forward pass', () => {
    const m = small(2);
    const x = input(new Rng(3), 3, 10, 3);
    const full = nn.noGrad(() => m.forward(x)).toArray();
    const cache = m.createCache(3);
    const steps: Float32Array[] = [];
    nn.noGrad(() => {
      // a prefill of 4 positions, then one position at a time
      steps.push(m.forward(nn.slice(x, 1, 0, 4), cache).toArray());
      for (let t = 4; t < 10; t++) steps.push(m.forward(nn.slice(x, 1, t, t + 1), cache).toArray());
    });
    expect(cache.length).toBe(10);
    for (let b = 0; b < 3; b++)
      for (let t = 0; t < 10; t++) {
        const got = t < 4 ? steps[0].subarray((b * 4 + t) * 4, (b * 4 + t + 1) * 4) : steps[t - 3].subarray(b * 4, b * 4 + 4);
        const want = full.subarray((b * 10 + t) * 4, (b * 10 + t + 1) * 4);
        for (let j = 0; j < 4; j++) expect(got[j]).toBeCloseTo(want[j], 4);
      }
    expect(() => nn.noGrad(() => m.forward(nn.slice(x, 1, 0, 3), cache))).toThrow(/exceed maxLen 12/);
  });

  it('AdamW with warm-up/cosine and clipping fits a small sequence task', () => {
    const m = small(4);
    const opt = new nn.AdamW(nn.paramGroups(m, 1e-4), { lr: 3e-3 });
    const rng = new Rng(5);
    const x = input(rng, 8, 12, 3);
    // target at t: the sign pattern of the first input feature at position t-1 (needs attention)
    const y = new Int32Array(8 * 12);
    for (let b = 0; b < 8; b++) for (let t = 0; t < 12; t++) y[b * 12 + t] = t === 0 ? 0 : x.data[(b * 12 + t - 1) * 3] > 0 ? 1 : 2;
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
      opt.lr = nn.warmupCosine(step, { lr: 3e-3, warmup: 5, total: 60, minLr: 3e-4 });
      const l = nn.tidy(() => {
        opt.zeroGrad();
        const loss = nn.crossEntropy(m.forward(x), y);
        loss.backward();
        nn.clipGradNorm(opt.parameters(), 1.0);
        opt.update();
        return loss.item();
      });
      losses.push(l);
    }
    expect(losses[59]).toBeLessThan(losses[0] * 0.5);
  });

  it('training steps inside tidy do not leak kernel memory', () => {
    const m = small(6);
    const opt = new nn.AdamW(nn.paramGroups(m, 0), { lr: 1e-3 });
    const x = input(new Rng(1), 2, 12, 3);
    const y = new Int32Array(24);
    const step = () =>
      nn.tidy(() => {
        opt.zeroGrad();
        nn.crossEntropy(m.forward(x), y).backward();
        opt.update();
      });
    step();
    const live = nn.memoryStats().liveBytes;
    for (let i = 0; i < 3; i++) step();
    expect(nn.memoryStats().liveBytes).toBe(live);
  });

  it('parameter groups leave norms and biases undecayed', () => {
    const m = small(0);
    const [decay, noDecay] = nn.paramGroups(m, 0.1);
    expect(decay.params.every((p) => p.ndim === 2)).toBe(true);
    expect(noDecay.params.some((p) => p.name === 'transformer.blocks.0.ln1.weight')).toBe(true);
    expect(noDecay.weightDecay).toBe(0);
  });

  it('warm-up + cosine schedule', () => {
    const o = { lr: 1, warmup: 10, total: 110, minLr: 0.1 };
    expect(nn.warmupCosine(0, o)).toBeCloseTo(0.1);
    expect(nn.warmupCosine(9, o)).toBeCloseTo(1);
    expect(nn.warmupCosine(60, o)).toBeCloseTo(0.55);
    expect(nn.warmupCosine(110, o)).toBeCloseTo(0.1);
  });

  it('clipGradNorm scales to the maximum norm', () => {
    const p = nn.parameter([2], (d) => d.fill(0));
    nn.tidy(() => nn.sum(nn.mul(p, nn.tensor([3, 4]))).backward());
    expect(nn.clipGradNorm([p], 1)).toBeCloseTo(5);
    expect(Math.hypot(...p.grad!.data)).toBeCloseTo(1, 4);
  });

  it('MoE routes each token to k experts and balances', () => {
    const moe = new nn.MoE(8, 4, 2, new Rng(1), { hidden: 8 });
    const x = input(new Rng(2), 2, 5, 8);
    const out = nn.tidy(() => {
      const r = moe.route(x);
      nn.add(nn.sum(r.out), r.balanceLoss).backward();
      return r.out;
    });
    expect(out.shape).toEqual([2, 5, 8]);
    expect(moe.router.weight.grad).not.toBeNull();
    expect(moe.experts.some((e) => e.fc.weight.grad !== null)).toBe(true);
  });
});

describe('safetensors', () => {
  it('round-trips a model with its config', () => {
    const a = small(7);
    const cfg = { ...a.config, kind: 'gpt' };
    nn.saveModel(join(dir, 'm1'), a, cfg, { step: '12' });
    const b = small(8);
    const meta = nn.loadModel(join(dir, 'm1'), b);
    expect(meta.step).toBe('12');
    expect(nn.readModelConfig(join(dir, 'm1'))).toEqual(cfg);
    for (const [[na, pa], [nb, pb]] of a.namedParameters().map((e, i) => [e, b.namedParameters()[i]] as const)) {
      expect(nb).toBe(na);
      expect([...pb.data]).toEqual([...pa.data]);
    }
  });

  it('is readable by an independent parse of the format', async () => {
    const w = nn.tensor([1.5, -2, 3.25, 0, 1e-3, 7], [2, 3]);
    const b = nn.tensor([0.5, -0.25], [2]);
    const file = join(dir, 't.safetensors');
    nn.saveSafetensors(file, { w, 'layer.b': b }, { note: 'hi' });
    // independent parse: u64 LE header length, JSON header, data section
    const buf = readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
    expect(header.__metadata__).toEqual({ note: 'hi', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // the digest covers the header without it and the data section
    const { sha256, ...meta } = header.__metadata__;
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(JSON.stringify({ ...header, __metadata__: meta })).update(buf.subarray(8 + n)).digest('hex')).toBe(sha256);
    expect(header.w).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header['layer.b']).toEqual({ dtype: 'F32', shape: [2], data_offsets: [24, 32] });
    expect((8 + n) % 8).toBe(0);
    expect(buf.length).toBe(8 + n + 32);
    const vals = [];
    for (let i = 0; i < 8; i++) vals.push(buf.readFloatLE(8 + n + 4 * i));
    expect(vals).toEqual([1.5, -2, 3.25, 0, Math.fround(1e-3), 7, 0.5, -0.25]);
  });

  it('reads a file written by hand (F16 and F64 too)', () => {
    const header = JSON.stringify({ a: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, b: { dtype: 'F64', shape: [1], data_offsets: [4, 12] } });
    const hb = Buffer.from(header);
    const buf = Buffer.alloc(8 + hb.length + 12);
    buf.writeBigUInt64LE(BigInt(hb.length), 0);
    hb.copy(buf, 8);
    buf.writeUInt16LE(0x3c00, 8 + hb.length); // 1.0
    buf.writeUInt16LE(0xc000, 10 + hb.length); // -2.0
    buf.writeDoubleLE(0.125, 12 + hb.length);
    const f = nn.decodeSafetensors(buf);
    expect([...f.tensors.get('a')!.data]).toEqual([1, -2]);
    expect([...f.tensors.get('b')!.data]).toEqual([0.125]);
  });

  it('names the tensor on wrong shape, wrong dtype, truncation, missing tensor', () => {
    const a = small(9);
    const file = join(dir, 'bad.safetensors');
    nn.saveWeights(file, a);
    const bigger = new nn.GPT({ nLayers: 2, dModel: 16, nHeads: 2, maxLen: 13, inDim: 3, nOut: 4 }, new Rng(0));
    expect(() => nn.loadWeights(file, bigger)).toThrow(/tensor "transformer.pos" has shape \[12, 16\], the model expects \[13, 16\]/);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    expect(() => nn.loadWeights(file, a)).toThrow(/tensor "head.bias" ends at byte \d+ .*truncated/);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    header['head.bias'].dtype = 'I64';
    let json = JSON.stringify(header);
    while (json.length < n) json += ' ';
    const edited = Buffer.concat([bytes.subarray(0, 8), Buffer.from(json), bytes.subarray(8 + n)]);
    edited.writeBigUInt64LE(BigInt(json.length), 0);
    writeFileSync(file, edited);
    expect(() => nn.loadWeights(file, a)).toThrow(/tensor "head.bias" has dtype I64/);
    nn.saveSafetensors(file, { 'head.weight': a.head.weight });
    expect(() => nn.loadWeights(file, a)).toThrow(/tensor "embed.weight" missing/);
    writeFileSync(file, Buffer.from([1, 2, 3]));
    expect(() => nn.loadWeights(file, a)).toThrow(/shorter than its 8-byte header/);
  });
});
