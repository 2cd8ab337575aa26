/**
 * How the default model's lung-field template and first teacher matrices were
 * bootstrapped from the previous default model (git 292b5a7, models/default),
 * which matched only the dark lung cores and reached its frame through a 2x
 * margin. Kept so the model card's recipe can be rerun; the later rounds use
 * the CLI (`canonical --model`, `align --refine`, `train --targets`).
 *
 *   npx tsx scripts/model/bootstrap-lung-template.ts OLD_MODEL_DIR IMAGES_DIR OUT_DIR
 *
 * 1. The mean of the films as OLD aligns them, in its whole output frame (256x320).
 * 2. A box around the whole lung fields of that mean, apices, chest walls and
 *    costophrenic angles included (pixels 32..224 x 28..268, chosen by eye on it,
 *    4:5 like the frame) → template v1 (OUT/template-v1.png).
 * 3. Groupwise sharpening, three rounds: start every film at OLD's matrix
 *    restricted to the box, refine (windowed NCC, 128 px) toward the current
 *    template, average the films in the box frame → v2, v3, v4. Round 2's
 *    matrices (20 steps toward v2) are the first teacher matrices
 *    (OUT/teacher-v3.json, a transforms.json with margin 0.25/0.25/0.15/0.15).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../src/engine/index';

const [oldDir, imagesDir, outDir] = process.argv.slice(2);
if (!outDir) throw new Error('usage: bootstrap-lung-template.ts OLD_MODEL_DIR IMAGES_DIR OUT_DIR');
mkdirSync(outDir, { recursive: true });
await E.initBackend(['wasm']);
const { json, weightData } = await E.readModelFiles(async (n) => new Uint8Array(readFileSync(join(oldDir, n))));
const { model } = E.deserializeModel(json, weightData, oldDir);
const frame = { width: 256, height: 320 };
const files = readdirSync(imagesDir).filter((f) => /\.png$/i.test(f)).sort();
const films = files.map((f) => E.decodeImage(new Uint8Array(readFileSync(join(imagesDir, f))), f));
const outputMatrices = await E.predictMatrices(model, films, 8);

async function meanOf(matrices: E.AffineMatrix[]): Promise<E.GrayImage> {
  const acc = new Float64Array(frame.width * frame.height);
  for (let i = 0; i < films.length; i++) (await E.warpImage(films[i], matrices[i], frame)).data.forEach((v, j) => { acc[j] += v; });
  return { ...frame, data: Float32Array.from(acc, (v) => v / films.length) };
}

// 1–2. Whole output frame, then the lung-field box in it.
const [x0, y0, x1, y1] = [32, 28, 224, 268];
const big = await meanOf(outputMatrices);
let template = E.crop(big, x0, y0, x1 - x0, y1 - y0);
writeFileSync(join(outDir, 'template-v1.png'), E.encodePng(template));
const n = (p: number, s: number) => (p / s) * 2 - 1;
const box: E.AffineMatrix = [[(x1 - x0) / frame.width, 0, (n(x0, frame.width) + n(x1, frame.width)) / 2], [0, (y1 - y0) / frame.height, (n(y0, frame.height) + n(y1, frame.height)) / 2]];
const starts = outputMatrices.map((m) => E.matrixToParams(E.compose(m, box)));

// 3. Sharpening rounds.
const margin = { left: 0.25, right: 0.25, top: 0.15, bottom: 0.15 };
for (const [round, iterations] of [[2, 20], [3, 20], [4, 50]] as const) {
  const refined = await (async () => {
    const out: E.AffineParams[] = [];
    for (let i = 0; i < films.length; i += 8) out.push(...await E.refineBatch(films.slice(i, i + 8), template, starts.slice(i, i + 8), { iterations, size: 128 }));
    return out;
  })();
  const matrices = refined.map((p) => E.paramsToMatrix(p));
  template = await meanOf(matrices);
  writeFileSync(join(outDir, `template-v${round}.png`), E.encodePng(template));
  if (round === 3) {
    const entries = files.map((name, i) => {
      const matrix = E.compose(matrices[i], E.marginMatrix(margin));
      return { name, matrix, params: E.matrixToParams(matrix), size: frame };
    });
    writeFileSync(join(outDir, 'teacher-v3.json'), E.transformsJson(frame, `refined toward template-v2 (${iterations} steps)`, entries, [], margin));
  }
  console.log(`round ${round}: ${iterations} refinement steps → template-v${round}.png`);
}
model.dispose();
