/**
 * `cxr-align eval`: how well a model aligns films, measured on lung masks.
 * Prints the model beside the identity (plain resize) baseline and, when
 * Debian's elastix is installed and asked for, a classic affine registration;
 * writes per-image scores as CSV so the worst cases can be looked at.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compose, EQUIVARIANCE_PROBES, evaluate, identityAligner, marginMatrix, perImageCsv, predictMatrices, probeTable, summaryTable,
  type Aligner, type EvalCase, type EvalSummary, type GrayImage,
} from '../../src/engine/index';
import { formatOptions, parseArgs, UsageError, type OptionSpecs, type Size } from '../args';
import { setupBackend } from '../backend';
import { DEFAULT_TEMPLATE, loadCliModel, readImageFile } from '../model';
import { ProgressBar, silentSink, stderrSink } from '../progress';
import { elastixAligner, elastixAvailable } from '../baselines/elastix';

export const EVAL_OPTIONS: OptionSpecs = {
  data: { type: 'string', required: true, meta: 'DIR', help: 'folder with images/NAME and lung_masks/NAME (255 = lung)' },
  model: { type: 'string', meta: 'DIR', help: 'model folder (default: models/default, else the untrained identity model)' },
  template: { type: 'string', meta: 'PNG', help: 'template the model matches, for --refine and --elastix (default: the model folder\'s template.png, else models/canonical-chest.png)' },
  refine: { type: 'int', default: 0, meta: 'N', help: 'also score the model + N refinement iterations per film' },
  perturb: { type: 'int', default: 3, meta: 'K', help: 'random known perturbations per film for the equivariance error (0 = skip)' },
  probes: { type: 'boolean', default: false, help: 'also break the equivariance error down: frame disagreement under each pure ±10% shift, ±10% zoom and ±10° rotation' },
  frame: { type: 'size', meta: 'WxH', help: 'frame Dice and pixels are measured in (default: the model\'s frame)' },
  elastix: { type: 'boolean', default: false, help: 'also score a classic multi-resolution affine registration (Debian elastix)' },
  'elastix-metric': { type: 'string', default: 'ncc', choices: ['ncc', 'mi'], help: 'similarity elastix maximises: normalized correlation or Mattes mutual information' },
  limit: { type: 'int', meta: 'N', help: 'only the first N films (sorted by name)' },
  out: { type: 'string', meta: 'DIR', help: 'write per-image CSVs and summary.json here' },
  seed: { type: 'int', default: 1, help: 'seed of the perturbations' },
  quiet: { type: 'boolean', default: false, help: 'no progress bar' },
};

export const EVAL_USAGE = `Usage: cxr-align eval --data DIR [--model DIR] [--refine N] [--elastix] [--out DIR]

Aligns every film, warps its lung mask with the same transform and reports:
mean pairwise Dice of the warped masks on a canvas twice the frame's extent
(lungs pushed outside the frame still count) and inside the frame, the share of
films whose lungs the frame cuts (> 2% outside), mirrored outputs, and the
equivariance error (frame disagreement in output pixels under known ±10°,
±10% shift, ±10% scale perturbations; --probes splits it by kind).

Options:
${formatOptions(EVAL_OPTIONS)}

Example:
  cxr-align eval --data ../shared/data/masked --refine 15 --elastix --out runs/eval`;

export interface EvalCommandOptions {
  data: string;
  model?: string;
  template?: string;
  refine: number;
  perturb: number;
  probes?: boolean;
  frame?: Size;
  elastix: boolean;
  elastixMetric?: 'ncc' | 'mi';
  limit?: number;
  out?: string;
  seed: number;
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
  await setupBackend('auto');
  const cases = loadEvalCases(opts.data, opts.limit, log);
  const loaded = await loadCliModel(opts.model, log);
  const model = loaded.model;
  const frame = opts.frame ?? model.config.frame;
  const templatePath = opts.template
    ?? (opts.model && existsSync(join(opts.model, 'template.png')) ? join(opts.model, 'template.png') : DEFAULT_TEMPLATE);
  const needsTemplate = opts.refine > 0 || opts.elastix;
  const template: GrayImage | undefined = needsTemplate ? readImageFile(templatePath) : undefined;

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
  for (const a of aligners) {
    const bar = new ProgressBar(cases.length, 'film', opts.quiet ? silentSink : stderrSink());
    bar.message(`scoring ${a.name}`);
    rows.push(await evaluate(a, cases, {
      frame, perturbations: opts.perturb, probes: opts.probes ? EQUIVARIANCE_PROBES : undefined,
      seed: opts.seed, cutThreshold: 0.02, onProgress: () => bar.tick(1),
    }));
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
    elastix: v.elastix as boolean, elastixMetric: v['elastix-metric'] as 'ncc' | 'mi', limit: v.limit as number | undefined, out: v.out as string | undefined,
    seed: v.seed as number, quiet: v.quiet as boolean,
  });
  console.log(summaryTable(rows));
  if (v.probes) console.log(`\n${probeTable(rows)}`);
  return 0;
}
