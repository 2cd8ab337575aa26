/**
 * Is what is left of a model's error variance or bias? Scores, on a folder of
 * films with lung masks (`eval`'s layout), each model beside two averages of
 * frames: the model's frame averaged with its frame of the mirrored film
 * (mirrored back), and the mean frame of several models. If averaging gains,
 * the models' errors are partly independent and an ensemble (or its
 * distillation) would pay; if not, they share one bias, which only a
 * different training signal moves. A diagnostic for the model card, not a
 * product path: each average costs a network pass per model.
 *
 *   npx tsx scripts/model/frame-averages.ts --data ../shared/data/masked --patients ../shared/data/manifest.csv models/default runs/H2/model …
 */
import { parseArgs } from 'node:util';
import { compose, evaluate, predictMatrices, summaryTable, type AffineMatrix, type Aligner, type AlignmentModel, type GrayImage } from '../../src/engine/index';
import { warpGrayHost } from '../../src/engine/align/warp-host';
import { setupBackend } from '../../cli/backend';
import { loadEvalCases } from '../../cli/commands/eval';
import { loadCliModel } from '../../cli/model';
import { readPatients } from '../../cli/patients';

const { values, positionals: dirs } = parseArgs({
  options: { data: { type: 'string', default: '../shared/data/masked' }, patients: { type: 'string' } },
  allowPositionals: true,
});
if (dirs.length === 0) throw new Error('name one model folder or more');

/** x → −x in normalized coordinates: as a warp it mirrors a film, pixel centres onto pixel centres (exact to rounding). */
const MIRROR: AffineMatrix = [[-1, 0, 0], [0, 1, 0]];
const mirror = (img: GrayImage): GrayImage => ({ ...img, data: warpGrayHost(img, MIRROR, img).data });
/** The frame found on the mirrored film, on the film itself and not mirrored. */
const mirrorBack = (m: AffineMatrix): AffineMatrix => compose(MIRROR, compose(m, MIRROR));

const mean = (ms: AffineMatrix[]): AffineMatrix =>
  [0, 1].map((r) => [0, 1, 2].map((k) => ms.reduce((s, m) => s + m[r][k], 0) / ms.length)) as AffineMatrix;

await setupBackend('auto', (m) => console.error(m), {});
const cases = loadEvalCases(values.data!, undefined, (m) => console.error(m));
if (values.patients) {
  const p = readPatients({ csv: values.patients, data: values.data! });
  for (const c of cases) c.patient = p.byName.get(c.name);
}
const models: AlignmentModel[] = [];
for (const d of dirs) models.push((await loadCliModel(d, (m) => console.error(m))).model);
const frame = (i: number, img: GrayImage) => predictMatrices(models[i], [img], 1).then((m) => m[0]);

const aligners: Aligner[] = dirs.map((d, i) => ({ name: `model (${d})`, align: (img) => frame(i, img) }));
aligners.push({ name: `model (${dirs[0]}) + its mirrored film's frame, averaged`, align: async (img) => mean([await frame(0, img), mirrorBack(await frame(0, mirror(img)))]) });
if (models.length > 1) {
  aligners.push({ name: `mean frame of the ${models.length} models`, align: async (img) => mean(await Promise.all(models.map((_, i) => frame(i, img)))) });
}
const rows = [];
for (const a of aligners) {
  rows.push(await evaluate(a, cases, { frame: models[0].config.frame, perturbations: 0, contentMoves: 0, borderScales: [], seed: 1, cutThreshold: 0.02 }));
}
for (const m of models) m.dispose();
console.log(summaryTable(rows));
