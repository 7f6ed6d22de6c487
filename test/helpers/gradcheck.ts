/**
 * Finite-difference check of parameter gradients: the worst of |analytic - numeric| / (3e-3 + 3e-2
 * |numeric|) over every `stride`-th coordinate of each parameter, for the loss sum(forward() * R).
 * Below 1 passes.
 */
import * as nn from '../../src/nn/index.js';

export function paramGradError(forward: () => nn.Tensor, params: nn.Tensor[], R: Float32Array, stride = 1, eps = 1e-2): number {
  const lossOf = (): number => nn.noGrad(() => nn.tidy(() => forward().toArray().reduce((s, v, i) => s + v * R[i], 0)));
  for (const p of params) p.grad?.data.fill(0);
  nn.tidy(() => forward().backward(R));
  let worst = 0;
  for (const p of params) {
    const g = p.grad!.toArray();
    for (let i = 0; i < p.size; i += stride) {
      const orig = p.data[i];
      p.data[i] = orig + eps;
      const up = lossOf();
      p.data[i] = orig - eps;
      const down = lossOf();
      p.data[i] = orig;
      const num = (up - down) / (2 * eps);
      worst = Math.max(worst, Math.abs(g[i] - num) / (3e-3 + 3e-2 * Math.abs(num)));
    }
  }
  return worst;
}
