import * as tf from '../tf';
import { onHostBackend } from '../backend/host-kernel';
import { ADAMW_UPDATE, SUM_OF_SQUARES, registerOptimizerKernels, type AdamWUpdateAttrs } from './optimizer-kernels';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWSettings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-4 };

/**
 * AdamW (Loshchilov & Hutter), as torch.optim.AdamW: decoupled weight decay
 * w ← w − lr·(wd·w + m̂/(√v̂ + ε)). tfjs ships only Adam; this one also
 * exposes its moments so checkpoints resume exactly.
 */
export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  step = 0;

  constructor(readonly settings: AdamWSettings = DEFAULT_ADAMW) {}

  apply(vars: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number): void {
    this.step++;
    const { beta1, beta2, epsilon, weightDecay } = this.settings;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    const host = onHostBackend();
    if (host) registerOptimizerKernels();
    const attrs: AdamWUpdateAttrs = { lr, beta1, beta2, epsilon, weightDecay, bc1, bc2 };
    for (const [name, g] of grads) {
      const w = vars.get(name);
      if (!w) throw new Error(`AdamW: gradient for unknown parameter ${name}`);
      const m = this.slot(this.m, name, w);
      const v = this.slot(this.v, name, w);
      if (host) {
        // One pass instead of 15 elementwise kernels (optimizer-kernels.ts).
        const [w1, m1, v1] = tf.engine().runKernel(ADAMW_UPDATE, { w, g, m, v }, attrs as never) as tf.Tensor[];
        m.assign(m1);
        v.assign(v1);
        w.assign(w1);
        tf.dispose([w1, m1, v1]);
        continue;
      }
      tf.tidy(() => {
        const m1 = m.mul(beta1).add(g.mul(1 - beta1));
        const v1 = v.mul(beta2).add(g.square().mul(1 - beta2));
        m.assign(m1);
        v.assign(v1);
        const update = m1.div(bc1).div(v1.div(bc2).sqrt().add(epsilon));
        w.assign(w.mul(1 - lr * weightDecay).sub(update.mul(lr)));
      });
    }
  }

  private slot(map: Map<string, tf.Variable>, name: string, like: tf.Variable): tf.Variable {
    let s = map.get(name);
    if (!s) {
      const zeros = tf.zerosLike(like);
      s = tf.variable(zeros, false);
      zeros.dispose(); // tf.variable copies its initial value
      map.set(name, s);
    }
    return s;
  }

  /** Moments as named tensors ("m/<param>", "v/<param>"), for checkpoints. */
  stateTensors(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [n, t] of this.m) out.set(`m/${n}`, t);
    for (const [n, t] of this.v) out.set(`v/${n}`, t);
    return out;
  }

  loadState(step: number, tensors: Map<string, tf.Tensor>): void {
    this.disposeSlots();
    this.step = step;
    for (const [key, t] of tensors) {
      const [kind, ...rest] = key.split('/');
      const name = rest.join('/');
      const map = kind === 'm' ? this.m : kind === 'v' ? this.v : undefined;
      if (!map) throw new Error(`AdamW: unexpected state entry ${key}`);
      map.set(name, tf.variable(t, false)); // a copy: the caller keeps (and disposes) t
    }
  }

  private disposeSlots(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }

  dispose(): void { this.disposeSlots(); }
}

/** √(Σ g²) over every gradient, as a scalar (one host kernel on wasm and cpu). */
export function gradientNorm(grads: tf.Tensor[]): tf.Scalar {
  if (onHostBackend()) {
    registerOptimizerKernels();
    const inputs = Object.fromEntries(grads.map((g, i) => [`t${i}`, g]));
    return tf.tidy(() => (tf.engine().runKernel(SUM_OF_SQUARES, inputs, {}) as tf.Scalar).sqrt());
  }
  return tf.tidy(() => tf.addN(grads.map((g) => g.square().sum())).sqrt() as tf.Scalar);
}

/** Linear decay from `start` to `end` over `total` steps (the seed's schedule). */
export function linearDecay(step: number, total: number, start: number, end: number): number {
  if (total <= 1) return start;
  const t = Math.min(Math.max(step / (total - 1), 0), 1);
  return start + (end - start) * t;
}
