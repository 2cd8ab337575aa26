import * as tf from '../tf';

/**
 * A flat, named set of variables, named like the PyTorch state_dict of the
 * same network ("layer1.0.conv1.weight") so a checkpoint reads like its
 * reference. Conv kernels are stored in tfjs layout [kh, kw, in, out].
 */
export class ParameterSet {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly frozen = new Set<string>();
  /** Bumped on every write, so derived caches (folded BN weights) know to rebuild. */
  version = 0;

  add(name: string, value: tf.Tensor, trainable = true): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} defined twice`);
    const v = tf.variable(value, trainable, `${name}_${nextId++}`);
    value.dispose();
    this.vars.set(name, v);
    if (!trainable) this.frozen.add(name);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter named ${name}`);
    return v;
  }

  has(name: string): boolean { return this.vars.has(name); }
  names(): string[] { return [...this.vars.keys()]; }
  entries(): [string, tf.Variable][] { return [...this.vars.entries()]; }
  isTrainable(name: string): boolean { return !this.frozen.has(name); }
  trainable(): tf.Variable[] { return this.entries().filter(([n]) => !this.frozen.has(n)).map(([, v]) => v); }
  trainableNames(): string[] { return this.names().filter((n) => !this.frozen.has(n)); }

  assign(name: string, value: tf.Tensor): void {
    const v = this.get(name);
    if (!tf.util.arraysEqual(v.shape, value.shape)) {
      throw new Error(`parameter ${name}: shape ${JSON.stringify(value.shape)} does not fit ${JSON.stringify(v.shape)}`);
    }
    v.assign(value);
    this.version++;
  }

  markChanged(): void { this.version++; }

  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

let nextId = 0;

/** Seeded initialisers matching torchvision's defaults for the layers we use. */
export const init = {
  /** kaiming_normal_(mode='fan_out', nonlinearity='relu'), torchvision ResNet/VGG convs. */
  convKaimingFanOut(kh: number, kw: number, cin: number, cout: number, seed: number): tf.Tensor {
    const std = Math.sqrt(2 / (cout * kh * kw));
    return tf.randomNormal([kh, kw, cin, cout], 0, std, 'float32', seed);
  },
  /** nn.Linear's default: U(−1/√fan_in, 1/√fan_in) for weight and bias. */
  linearUniform(shape: number[], fanIn: number, seed: number): tf.Tensor {
    const bound = 1 / Math.sqrt(fanIn);
    return tf.randomUniform(shape, -bound, bound, 'float32', seed);
  },
};

/** A deterministic stream of seeds from one base seed, so every layer gets its own. */
export function seedStream(base: number): () => number {
  let s = base >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s % 2147483647;
  };
}
