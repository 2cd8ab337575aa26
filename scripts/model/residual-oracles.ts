/**
 * Which part of a model's error holds its Dice back? On a folder of films with
 * lung masks (`eval`'s layout), fits the affine ceiling as `eval --ceiling`
 * does, takes each film's residual R = C⁻¹·M (the model's frame M in the
 * ceiling's C) as five parameters, and scores oracles that correct one part of
 * it: each parameter taken from the ceiling alone, the frame's height (scale y
 * and shift y) together, and the mean residual of each view (by a CSV's view
 * column) removed, which is what a model free of any per-view bias would do.
 * What an oracle gains over the model is what fixing that part is worth; the
 * ceiling bounds them all. A diagnostic for the model card, not a product path:
 * every oracle but the model reads the masks.
 *
 *   npx tsx scripts/model/residual-oracles.ts --data ../shared/data/masked --patients ../shared/data/manifest.csv models/default
 */
import { parseArgs } from 'node:util';
import {
  ceilingFitFrame, compose, evaluate, fitAffineCeiling, fittedAligner, IDENTITY_PARAMS, invert, matrixToParams, paramsToMatrix, predictMatrices, summaryTable,
  type AffineMatrix, type Aligner, type EvalSummary, type AffineParams,
} from '../../src/engine/index';
import { setupBackend } from '../../cli/backend';
import { loadEvalCases } from '../../cli/commands/eval';
import { loadCliModel } from '../../cli/model';
import { readPatients } from '../../cli/patients';

const { values, positionals } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/masked' },
    patients: { type: 'string' },
    views: { type: 'string', help: 'CSV with a file and a view column (default: --patients)' },
  },
  allowPositionals: true,
});
if (positionals.length !== 1) throw new Error('name one model folder');
const log = (m: string) => console.error(m);

await setupBackend('auto', log, {});
const cases = loadEvalCases(values.data!, undefined, log);
if (values.patients) {
  const p = readPatients({ csv: values.patients, data: values.data! });
  for (const c of cases) c.patient = p.byName.get(c.name);
}
const viewsCsv = values.views ?? values.patients;
const views = viewsCsv ? readPatients({ csv: viewsCsv, data: values.data!, patientColumn: 'view' }).byName : new Map<string, string>();

const { model } = await loadCliModel(positionals[0], log);
const frame = model.config.frame;
const predicted = await predictMatrices(model, cases.map((c) => c.image), 1);
model.dispose();
const M = new Map(cases.map((c, i) => [c.name, predicted[i]]));

log('fitting the affine ceiling to the lung masks (an oracle: it reads the masks)');
const fit = await fitAffineCeiling(cases.map((c) => c.mask), {
  starts: cases.map((c) => M.get(c.name)!),
  frame: ceilingFitFrame(frame),
});
const C = new Map(cases.map((c, i) => [c.name, fit.matrices[i]]));
const R = new Map(cases.map((c) => [c.name, matrixToParams(compose(invert(C.get(c.name)!), M.get(c.name)!))]));
const residual = (name: string): AffineParams => R.get(name)!;

/** The model's frame with the residual's parameters `fromCeiling` (0 tx, 1 ty, 2 sx, 3 sy, 4 θ) set to the ceiling's. */
const withCeiling = (fromCeiling: number[]) => (name: string): AffineMatrix => {
  const r = [...residual(name)] as AffineParams;
  for (const k of fromCeiling) r[k] = IDENTITY_PARAMS[k];
  return compose(C.get(name)!, paramsToMatrix(r));
};

const meanParams = (names: string[]): AffineParams =>
  [0, 1, 2, 3, 4].map((k) => names.reduce((s, n) => s + residual(n)[k], 0) / names.length) as AffineParams;
const viewOf = (name: string) => views.get(name) ?? '(no view)';
const byView = new Map<string, string[]>();
for (const c of cases) {
  const v = viewOf(c.name);
  if (!byView.has(v)) byView.set(v, []);
  byView.get(v)!.push(c.name);
}
// Every view's mean residual moved onto the overall mean: the per-view bias gone, the shared placement kept.
const overall = paramsToMatrix(meanParams(cases.map((c) => c.name)));
const viewFix = new Map([...byView].map(([v, names]) => [v, compose(invert(paramsToMatrix(meanParams(names))), overall)]));
for (const [v, names] of byView) {
  const [tx, ty, sx, sy, th] = meanParams(names);
  log(`${v} (${names.length} films): mean residual tx ${tx.toFixed(3)} ty ${ty.toFixed(3)} sx ${sx.toFixed(3)} sy ${sy.toFixed(3)} θ ${((th * 180) / Math.PI).toFixed(2)}°`);
}

const images = cases.map((c) => c.image);
const oracle = (name: string, f: (film: string) => AffineMatrix): Aligner => fittedAligner(name, images, cases.map((c) => f(c.name)), 0);
const PARAMS = ['shift x', 'shift y', 'scale x', 'scale y', 'rotation'];
const aligners: Aligner[] = [
  { ...oracle(`model (${positionals[0]})`, (n) => M.get(n)!), oracle: false },
  oracle('model, each view\'s mean residual removed', (n) => compose(M.get(n)!, viewFix.get(viewOf(n))!)),
  ...PARAMS.map((p, k) => oracle(`model, ${p} from the ceiling`, withCeiling([k]))),
  oracle('model, height (scale y, shift y) from the ceiling', withCeiling([1, 3])),
  oracle('model, all but the height from the ceiling', withCeiling([0, 2, 4])),
  oracle('affine ceiling (oracle: fitted to the lung masks)', (n) => C.get(n)!),
];
const rows: EvalSummary[] = [];
for (const a of aligners) rows.push(await evaluate(a, cases, { frame, perturbations: 0, contentMoves: 0, borderScales: [], seed: 1, cutThreshold: 0.02 }));
console.log(summaryTable(rows));
