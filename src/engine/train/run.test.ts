import * as tf from '../tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';
import { paramsToMatrix } from '../affine/affine';
import { refineForModel } from '../align/align';
import { syntheticChest } from '../image/synthetic-chest';
import { AlignmentLoss } from '../losses/alignment-loss';
import { defaultStnConfig } from '../models/stn/config';
import { AlignmentModel } from '../models/stn/stn';
import { prepareTrainingFilm, trainingSource } from './prepare-film';
import { runTraining, type FilmSet } from './run';
import { sideBySide, trainingSample } from './sample-strip';
import { teacherMatrices } from './teacher';
import { defaultTrainerSettings, Trainer } from './trainer';

beforeAll(async () => { await useBackend(); });

const L = 32;
const FRAME = { width: 16, height: 20 };
const SRC = { width: 32, height: 40 };

function setup(steps: number) {
  const model = new AlignmentModel(defaultStnConfig({ locSize: L, frame: FRAME, seed: 3 }));
  const tmpl = syntheticChest({ width: FRAME.width, height: FRAME.height });
  const template = tf.tensor4d(tmpl.data, [1, FRAME.height, FRAME.width, 1]);
  const loss = new AlignmentLoss({ kind: 'lncc', window: 5 }, { template });
  const trainer = new Trainer(model, loss, defaultTrainerSettings(model, { steps, batchSize: 4, lr: 1e-3, lrEnd: 1e-4, frame: FRAME, srcSize: SRC }));
  const films = [1, 2, 3, 4, 5].map((seed) => prepareTrainingFilm(syntheticChest({ width: 48, height: 60, seed }), `f${seed}`, { locSize: L, inputCrop: 'content' }, SRC));
  const set: FilmSet = { size: films.length, get: (i) => films[i] };
  return { model, trainer, set, films, tmpl, dispose: () => { trainer.dispose(); loss.dispose(); template.dispose(); model.dispose(); } };
}

describe('one training run (runTraining), the step loop both hosts use', () => {
  it('samples before the first step, every N steps and after the last; checkpoints between; stops when asked; leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const r = setup(5);
    const sampled: number[] = [];
    const checkpoints: number[] = [];
    const steps: number[] = [];
    const out = await runTraining(r.trainer, r.set, { until: 5, sampleEvery: 2, checkpointEvery: 2 }, {
      onStep: (rep) => { steps.push(rep.step); },
      onSample: (s) => { sampled.push(s); },
      onCheckpoint: (s) => { checkpoints.push(s); },
    });
    expect(out).toEqual({ steps: 5, stopped: false });
    expect(steps).toEqual([0, 1, 2, 3, 4]);
    expect(sampled).toEqual([0, 2, 4, 5]);
    expect(checkpoints).toEqual([2, 4]);

    // Stopped by beforeStep after two more steps: then a sample of where it stopped.
    r.trainer.settings.steps = 10;
    sampled.length = 0;
    const stopped = await runTraining(r.trainer, r.set, { until: 10, sampleEvery: 100 }, {
      beforeStep: (s) => s < 7, onSample: (s) => { sampled.push(s); },
    });
    expect(stopped).toEqual({ steps: 2, stopped: true });
    expect(sampled).toEqual([7]);
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('continuing a run reproduces the uninterrupted one (batches and augmentations follow from seed and step)', async () => {
    const losses = async (split: number[]) => {
      const r = setup(4);
      const out: number[] = [];
      for (const until of split) await runTraining(r.trainer, r.set, { until, sampleEvery: 0 }, { onStep: (rep) => { out.push(rep.loss); } });
      r.dispose();
      return out;
    };
    const whole = await losses([4]);
    const parts = await losses([2, 4]);
    expect(parts).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(parts[i]).toBeCloseTo(whole[i], 5);
  });

  it('the sample strip: input | aligned | template at the frame; teacher matrices are the refined frames of the matched region', async () => {
    const r = setup(1);
    const smp = await trainingSample(r.model, r.films[0].loc, trainingSource(r.films[0], SRC), r.tmpl, FRAME);
    for (const p of [smp.input, smp.aligned, smp.template]) expect([p.width, p.height]).toEqual([FRAME.width, FRAME.height]);
    const strip = sideBySide([smp.input, smp.aligned, smp.template]);
    expect([strip.width, strip.height]).toEqual([3 * FRAME.width + 4, FRAME.height]);

    const srcs = r.films.map((f) => trainingSource(f, SRC));
    const teacher = await teacherMatrices(r.model, r.films.map((f) => f.loc), srcs, { template: r.tmpl, iterations: 3, size: 20, batchSize: 2 });
    const { predictFromLocs } = await import('../align/align');
    const net = await predictFromLocs(r.model, r.films.map((f) => f.loc));
    const refined = await refineForModel(r.model, srcs, net, { template: r.tmpl, iterations: 3, size: 20 }, 2);
    expect(teacher).toHaveLength(5);
    teacher.forEach((m, i) => {
      const want = paramsToMatrix(refined[i]);
      for (let k = 0; k < 2; k++) for (let j = 0; j < 3; j++) expect(m[k][j]).toBeCloseTo(want[k][j], 5);
    });
    r.dispose();
  });
});
