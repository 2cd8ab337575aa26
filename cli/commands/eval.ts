/**
 * `cxr-align eval`: how well a model aligns films, measured on lung masks.
 * Prints the model beside the identity (plain resize) baseline and, when
 * Debian's elastix is installed and asked for, a classic affine registration,
 * and on request the affine ceiling (an oracle fitted to the masks);
 * writes per-image scores as CSV so the worst cases can be looked at.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BORDER_SCALES, ceilingFitFrame, ceilingResidual, compose, EQUIVARIANCE_PROBES, evaluate, fitAffineCeiling, fittedAligner, identityAligner, marginMatrix, perImageCsv, predictMatrices, probeTable, residualTable, summaryTable,
  type Aligner, type EvalCase, type EvalSummary, type GrayImage,
} from '../../src/engine/index';
import { formatOptions, parseArgs, UsageError, type OptionSpecs, type Size } from '../args';
import { BACKEND_CHOICES, THREADS_OPTION, setupBackend, type BackendChoice } from '../backend';
import { loadCliModel, loadTemplate, readImageFile } from '../model';
import { ProgressBar, silentSink, stderrSink } from '../progress';
import { elastixAligner, elastixAvailable } from '../baselines/elastix';
import { readPatients } from '../patients';

export const EVAL_OPTIONS: OptionSpecs = {
  data: { type: 'string', required: true, meta: 'DIR', help: 'folder with images/NAME and lung_masks/NAME (255 = lung)' },
  model: { type: 'string', meta: 'DIR', help: 'model folder (default: models/default, else the untrained identity model)' },
  template: { type: 'string', meta: 'PNG', help: 'template the model matches, for --refine and --elastix (default: the model folder\'s template.png — --model, else models/default — else models/canonical-chest.png)' },
  refine: { type: 'int', default: 0, meta: 'N', help: 'also score the model + N refinement iterations per film' },
  perturb: { type: 'int', default: 3, meta: 'K', help: 'random known perturbations per film for the equivariance error (0 = skip)' },
  probes: { type: 'boolean', default: false, help: 'also break the equivariance error down: frame disagreement under each pure ±10% shift, ±10% zoom and ±10° rotation' },
  content: { type: 'int', default: 3, meta: 'K', help: 'content-preserving moves per film: the film embedded unchanged in a black canvas 1.5x its size and moved inside it (±10°, ±10% shift, ±10% scale, never past the edge); 0 = skip' },
  border: { type: 'string', default: BORDER_SCALES.join(','), meta: 'LIST', help: 'canvas sizes (x the film) for the border effect: the frame on the bare film vs the film embedded in black; "none" = skip' },
  patients: { type: 'string', meta: 'CSV', help: 'a CSV naming each film\'s patient (e.g. ../shared/data/manifest.csv), for the same-patient Dice' },
  'file-column': { type: 'string', default: 'file', meta: 'NAME', help: 'column of --patients with the film: a path relative to the CSV\'s folder that resolves to DATA/images/NAME, or a bare NAME' },
  'patient-column': { type: 'string', default: 'patient', meta: 'NAME', help: 'column of --patients with the patient' },
  ceiling: { type: 'boolean', default: false, help: 'also score the affine ceiling: five parameters per film fitted groupwise to the lung masks (an oracle), started from and anchored to the model\'s frames; each aligner\'s spread about it, parameter by parameter, is printed after the table' },
  frame: { type: 'size', meta: 'WxH', help: 'frame Dice and pixels are measured in (default: the model\'s frame)' },
  elastix: { type: 'boolean', default: false, help: 'also score a classic multi-resolution affine registration (Debian elastix)' },
  'elastix-metric': { type: 'string', default: 'ncc', choices: ['ncc', 'mi'], help: 'similarity elastix maximises: normalized correlation or Mattes mutual information' },
  limit: { type: 'int', meta: 'N', help: 'only the first N films (sorted by name)' },
  out: { type: 'string', meta: 'DIR', help: 'write per-image CSVs and summary.json here' },
  seed: { type: 'int', default: 1, help: 'seed of the perturbations' },
  backend: { type: 'string', meta: 'NAME', default: 'auto', choices: BACKEND_CHOICES, help: 'TensorFlow.js backend: auto (WASM, else CPU), wasm, cpu, or webgpu (the optional `webgpu` package)' },
  ...THREADS_OPTION,
  quiet: { type: 'boolean', default: false, help: 'no progress bar' },
};

export const EVAL_USAGE = `Usage: cxr-align eval --data DIR [--model DIR] [--refine N] [--elastix] [--ceiling] [--patients CSV] [--out DIR]

Aligns every film, warps its lung mask with the same transform and reports:
mean pairwise Dice of the warped masks on a canvas twice the frame's extent
(lungs pushed outside the frame still count) and inside the frame, with
--patients the mean Dice over pairs of films of the same patient, the share of
films whose lungs the frame cuts (> 2% outside), mirrored outputs, the
equivariance error (frame disagreement in output pixels under known ±10°,
±10% shift, ±10% scale perturbations; --probes splits it by kind), the
content-preserving equivariance (the same moves of the film inside a black
canvas 1.5x its size, nothing cropped: a perfect aligner scores 0) and the
border effect (the frame on the bare film vs on the film embedded in black).
With --ceiling, a second table gives each aligner's residual against the
ceiling: the spread over the films of its frame in the ceiling's, per
parameter (shifts and scales in %, rotation in degrees) — which of them holds
its Dice back.

Options:
${formatOptions(EVAL_OPTIONS)}

Example:
  cxr-align eval --data ../shared/data/masked --refine 15 --elastix --out runs/eval
  cxr-align eval --data ../shared/data/masked --patients ../shared/data/manifest.csv --ceiling`;

export interface EvalCommandOptions {
  data: string;
  model?: string;
  template?: string;
  refine: number;
  perturb: number;
  probes?: boolean;
  /** Content-preserving moves per film (default 3; 0 = skip). */
  content?: number;
  /** Canvas sizes for the border effect (default BORDER_SCALES; [] = skip). */
  border?: number[];
  /** CSV with each film's patient. */
  patients?: string;
  fileColumn?: string;
  patientColumn?: string;
  ceiling?: boolean;
  frame?: Size;
  elastix: boolean;
  elastixMetric?: 'ncc' | 'mi';
  limit?: number;
  out?: string;
  seed: number;
  backend?: BackendChoice;
  /** WASM threads (default: every core; cli/wasm-threads.ts). */
  threads?: number;
  quiet?: boolean;
  log?: (msg: string) => void;
}

/** Pairs images/NAME with lung_masks/NAME; a film without a mask is reported and left out. */
export function loadEvalCases(dir: string, limit?: number, log: (m: string) => void = console.error): EvalCase[] {
  const imgDir = join(dir, 'images');
  const maskDir = join(dir, 'lung_masks');
  if (!existsSync(imgDir) || !existsSync(maskDir)) throw new UsageError(`${dir} must hold images/ and lung_masks/`);
  const names = readdirSync(imgDir).sort().slice(0, limit ?? Infinity);
  const cases: EvalCase[] = [];
  for (const name of names) {
    const maskPath = join(maskDir, name);
    if (!existsSync(maskPath)) { log(`${join(imgDir, name)}: no lung mask at ${maskPath}; left out`); continue; }
    try {
      const image = readImageFile(join(imgDir, name), name);
      const mask = readImageFile(maskPath, name);
      if (mask.width !== image.width || mask.height !== image.height) {
        log(`${name}: mask is ${mask.width}x${mask.height} but the film is ${image.width}x${image.height}; left out`);
        continue;
      }
      cases.push({ name, image, mask });
    } catch (e) {
      log(`${(e as Error).message}; left out`);
    }
  }
  if (cases.length < 2) throw new Error(`${dir}: need at least two films with masks, found ${cases.length}`);
  return cases;
}

export async function evalCommand(opts: EvalCommandOptions): Promise<EvalSummary[]> {
  const log = opts.log ?? ((m: string) => console.error(m));
  await setupBackend(opts.backend ?? 'auto', log, { threads: opts.threads });
  const cases = loadEvalCases(opts.data, opts.limit, log);
  if (opts.patients) {
    const p = readPatients({ csv: opts.patients, data: opts.data, fileColumn: opts.fileColumn, patientColumn: opts.patientColumn });
    let known = 0;
    for (const c of cases) { c.patient = p.byName.get(c.name); if (c.patient !== undefined) known++; }
    const counts = new Map<string, number>();
    for (const c of cases) if (c.patient !== undefined) counts.set(c.patient, (counts.get(c.patient) ?? 0) + 1);
    const multi = [...counts.values()].filter((k) => k > 1).length;
    log(`patients: ${known} of ${cases.length} films named in ${opts.patients}; ${multi} patients with more than one film`);
    if (known === 0) log(`notice: no film of ${opts.data}/images matched a row of ${opts.patients} (its "${opts.fileColumn ?? 'file'}" column must resolve, from the CSV's folder, to DATA/images/NAME, or be a bare NAME)`);
  }
  const loaded = await loadCliModel(opts.model, log);
  const model = loaded.model;
  const frame = opts.frame ?? model.config.frame;
  const needsTemplate = opts.refine > 0 || opts.elastix;
  const template: GrayImage | undefined = needsTemplate ? loadTemplate(opts.template, opts.model, log).image : undefined;

  const aligners: Aligner[] = [identityAligner];
  aligners.push({ name: `model (${loaded.description})`, align: async (img) => (await predictMatrices(model, [img], 1))[0] });
  if (opts.refine > 0) {
    aligners.push({
      name: `model + refine ${opts.refine}`,
      align: async (img) => (await predictMatrices(model, [img], 1, { template: template!, iterations: opts.refine }))[0],
    });
  }
  if (opts.elastix) {
    if (!elastixAvailable()) log('notice: elastix is not installed (apt-get install elastix); its baseline is skipped');
    else {
      // elastix registers to the template region; the model's frame margin is applied after it, as for the model.
      const mi = opts.elastixMetric === 'mi';
      const inner = elastixAligner(template!, { metric: mi ? 'AdvancedMattesMutualInformation' : 'AdvancedNormalizedCorrelation' });
      const margin = marginMatrix(model.config.margin);
      aligners.push({ name: `elastix affine (${mi ? 'MI' : 'NCC'}, 4 levels)`, align: async (img) => compose(await inner.align(img), margin) });
    }
  }

  const rows: EvalSummary[] = [];
  const score = async (a: Aligner) => {
    const bar = new ProgressBar(cases.length, 'film', opts.quiet ? silentSink : stderrSink());
    bar.message(`scoring ${a.name}`);
    const r = await evaluate(a, cases, {
      frame, perturbations: opts.perturb, probes: opts.probes ? EQUIVARIANCE_PROBES : undefined,
      contentMoves: opts.content ?? 3, borderScales: opts.border ?? BORDER_SCALES,
      seed: opts.seed, cutThreshold: 0.02, onProgress: () => bar.tick(1),
    });
    rows.push(r);
    return r;
  };
  let modelRow: EvalSummary | undefined;
  for (const a of aligners) {
    const r = await score(a);
    if (a === aligners[1]) modelRow = r;
  }
  if (opts.ceiling) {
    // Started from the model's frames (fitted to them when there are several rows, the first model row);
    // the group's mean placement stays there, so its lungs-cut figure compares with the model's.
    log('fitting the affine ceiling to the lung masks (an oracle: it reads the masks)');
    const fit = await fitAffineCeiling(cases.map((c) => c.mask), {
      starts: modelRow!.perImage.map((p) => p.matrix),
      frame: ceilingFitFrame(frame),
      onRound: (k, d) => { if (!opts.quiet) log(`  round ${k}: mean soft Dice with the majority of the others ${d.toFixed(4)}`); },
    });
    const ceiling = await score(fittedAligner('affine ceiling (oracle: fitted to the lung masks)', cases.map((c) => c.image), fit.matrices, fit.seconds / cases.length));
    for (const r of rows) if (r !== ceiling) r.ceilingResidual = ceilingResidual(r, ceiling);
  }
  model.dispose();
  if (opts.out) {
    mkdirSync(opts.out, { recursive: true });
    rows.forEach((r, i) => writeFileSync(join(opts.out!, `per-image-${i}-${r.aligner.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.csv`), perImageCsv(r)));
    writeFileSync(join(opts.out, 'summary.json'), JSON.stringify(rows.map(({ perImage: _p, ...s }) => s), null, 2));
  }
  return rows;
}

export async function runEval(argv: string[]): Promise<number> {
  const a = parseArgs(argv, EVAL_OPTIONS);
  if (a.positionals.length) throw new UsageError(`unexpected argument "${a.positionals[0]}" (use --data DIR)`);
  const v = a.values;
  const rows = await evalCommand({
    data: v.data as string, model: v.model as string | undefined, template: v.template as string | undefined,
    refine: v.refine as number, perturb: v.perturb as number, probes: v.probes as boolean, frame: v.frame as Size | undefined,
    content: v.content as number, border: parseScales(v.border as string), ceiling: v.ceiling as boolean,
    patients: v.patients as string | undefined, fileColumn: v['file-column'] as string, patientColumn: v['patient-column'] as string,
    elastix: v.elastix as boolean, elastixMetric: v['elastix-metric'] as 'ncc' | 'mi', limit: v.limit as number | undefined, out: v.out as string | undefined,
    seed: v.seed as number, backend: v.backend as BackendChoice, threads: v.threads as number | undefined, quiet: v.quiet as boolean,
  });
  console.log(summaryTable(rows));
  if (v.probes) console.log(`\n${probeTable(rows)}`);
  const residuals = residualTable(rows);
  if (residuals) console.log(`\n${residuals}`);
  return 0;
}

/** "1.25,1.5,2" → [1.25, 1.5, 2]; "none" or "" → []. Every size must exceed 1 (the film fits inside). */
export function parseScales(text: string | undefined): number[] {
  if (text === undefined) return BORDER_SCALES;
  const t = text.trim().toLowerCase();
  if (t === '' || t === 'none') return [];
  return t.split(',').map((part) => {
    const x = Number(part.trim());
    if (!Number.isFinite(x) || x <= 1) throw new UsageError(`--border: "${part}" is not a canvas size above 1 (e.g. 1.25,1.5,2, or none)`);
    return x;
  });
}
