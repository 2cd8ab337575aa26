/**
 * The CLI on WebGPU (Dawn's Node binding, the optional `webgpu` package; on a
 * machine without a GPU, SwiftShader's Vulkan driver): `align --backend webgpu`
 * writes the matrices `--backend wasm` does, `train --backend webgpu` trains,
 * and a machine without an adapter gets a clear error, not a stack trace.
 *
 * SwiftShader runs ~1 GFLOP/s, so everything is tiny: a 64 px encoder, 3 films,
 * 2 training steps at batch 2. Skipped with a message when there is no adapter
 * (or no binding) or no ../shared/data/cxr14 films.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AlignmentModel, defaultStnConfig, modelFiles, serializeModel, tf, type AffineMatrix } from '../src/engine/index';
import { REPO_ROOT, sharedPath } from '../src/testing/shared-data';
import { runAlign } from './commands/align';
import { trainCommand } from './commands/train';
import { setupBackend } from './backend';
import { silentSink } from './progress';
import { installNodeWebGpu } from './webgpu-node';

const CXR14 = sharedPath('data/cxr14/images');
const HAS_CXR14 = existsSync(CXR14);
const gpu = await installNodeWebGpu().then((info) => ({ info }), (e: Error) => ({ error: e.message }));
const skip = !HAS_CXR14 ? `${CXR14} is absent` : 'error' in gpu ? gpu.error : undefined;
if (skip) console.warn(`[webgpu cli] skipped: ${skip}`);
else console.log(`[webgpu cli] adapter: ${(gpu as { info: { adapter: string } }).info.adapter}`);

const tmp = mkdtempSync(join(tmpdir(), 'cxr-align-webgpu-cli-'));
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  if (!skip) await setupBackend('wasm');
});

function films(name: string, n: number): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(CXR14).filter((x) => x.endsWith('.png')).sort().slice(0, n)) copyFileSync(join(CXR14, f), join(dir, f));
  return dir;
}

function cli(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []) {
  return spawnSync(process.execPath, [...nodeArgs, join(REPO_ROOT, 'bin/cxr-align.mjs'), ...args], {
    encoding: 'utf8', env: { ...process.env, ...env }, cwd: tmp, timeout: 120_000,
  });
}

/** The CLI's own error line, and no JavaScript stack frames. */
function expectCleanError(r: ReturnType<typeof cli>, pattern: RegExp, howTo: RegExp): void {
  expect(r.status, r.stderr).toBe(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).toMatch(howTo);
  expect(r.stderr, 'a stack trace').not.toMatch(/^\s+at .*\.(ts|js|mjs|cjs):\d+/m);
}

describe('--backend webgpu without a usable adapter or binding', () => {
  it('no Vulkan driver: align and train exit 1 with what is missing and how to get it', () => {
    for (const args of [['align', 'x.png', '--out', 'o'], ['train', '--images', '.', '--out', 'r', '--steps', '1']]) {
      const r = cli([...args, '--backend', 'webgpu'], { VK_ICD_FILENAMES: '/nonexistent/icd.json' });
      expectCleanError(r, new RegExp(`cxr-align ${args[0]}: WebGPU found no adapter: the Vulkan driver list /nonexistent/icd.json gave none`), /apt-get install libvulkan1.*VK_ICD_FILENAMES=/);
    }
  }, 60_000);

  it('no binding (the optional package not installed): exit 1 naming `npm install webgpu`', () => {
    // A resolve hook that hides the package, as on `npm install --omit=optional`.
    const hook = 'export async function resolve(s, c, next) { if (s === "webgpu") throw new Error("Cannot find package \'webgpu\'"); return next(s, c); }';
    const reg = `import { register } from "node:module"; register("data:text/javascript,${encodeURIComponent(hook)}");`;
    const r = cli(['bench', '--backends', 'wasm,webgpu'], {}, ['--import', `data:text/javascript,${encodeURIComponent(reg)}`]);
    expectCleanError(r, /cxr-align bench: WebGPU is not available in Node here \(Cannot find package 'webgpu'\)/, /npm install webgpu/);
  }, 60_000);
});

describe.skipIf(!!skip)('cxr-align on WebGPU (real films, tiny sizes)', () => {
  it('align --backend webgpu: the same matrices as --backend wasm (within 1e-3); --networks is held at 1', async () => {
    await setupBackend('wasm');
    // A small model whose head predicts a clearly non-identity transform (as in cli.test.ts).
    const m = new AlignmentModel(defaultStnConfig({ locSize: 64, frame: { width: 64, height: 80 }, seed: 5 }));
    m.params.assign('head.fc2.weight', tf.randomNormal([256, 5], 0, 0.02, 'float32', 2));
    m.params.assign('head.fc2.bias', tf.tensor1d([0.15, -0.1, -0.4, -0.3, 0.2]));
    const modelDir = join(tmp, 'model');
    mkdirSync(modelDir);
    for (const [name, bytes] of modelFiles(await serializeModel(m))) writeFileSync(join(modelDir, name), bytes);
    m.dispose();
    const dir = films('in', 3);
    const out: Record<string, Record<string, AffineMatrix>> = {};
    for (const backend of ['wasm', 'webgpu']) {
      const o = join(tmp, `out-${backend}`);
      const lines: string[] = [];
      const log = console.error;
      console.error = (...a: unknown[]) => { lines.push(a.join(' ')); };
      try {
        expect(await runAlign([dir, '--out', o, '--model', modelDir, '--backend', backend, '--size', '64x80', '--batch', '2', '--networks', '2', '--quiet'])).toBe(0);
      } finally {
        console.error = log;
      }
      if (backend === 'webgpu') {
        expect(lines.join('\n')).toMatch(/WebGPU adapter: /);
        expect(lines.join('\n')).toMatch(/--networks 2 is ignored on webgpu/);
        expect(lines.join('\n')).not.toMatch(/network copies/);
      }
      out[backend] = JSON.parse(readFileSync(join(o, 'transforms.json'), 'utf8')).transforms;
    }
    expect(Object.keys(out.webgpu).sort()).toEqual(Object.keys(out.wasm).sort());
    expect(Object.keys(out.wasm)).toHaveLength(3);
    let max = 0;
    for (const key of Object.keys(out.wasm)) {
      expect(Math.abs(out.wasm[key][0][2])).toBeGreaterThan(0.05); // not the identity
      out.wasm[key].flat().forEach((v, k) => { max = Math.max(max, Math.abs(v - out.webgpu[key].flat()[k])); });
    }
    console.log(`[webgpu cli] align: max |Δ| of the matrices, webgpu vs wasm: ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-3);
  }, 600_000);

  it('train --backend webgpu: 2 tiny steps, finite non-zero losses in train.jsonl', async () => {
    const dir = films('in-t', 4);
    const r = await trainCommand({
      images: dir, out: join(tmp, 'run'), steps: 2, batch: 2, lr: 1e-3, locSize: 32, frame: { width: 32, height: 40 },
      modelFrame: { width: 32, height: 40 }, sampleEvery: 0, checkpointEvery: 0, seed: 3, backend: 'webgpu', sink: silentSink, log: () => {},
    });
    expect(tf.getBackend()).toBe('webgpu');
    const lines = readFileSync(r.logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number; gradNorm: number });
    expect(lines.map((l) => l.step)).toEqual([0, 1]);
    for (const l of lines) {
      expect(Number.isFinite(l.loss) && l.loss > 0, `loss ${l.loss}`).toBe(true);
      expect(Number.isFinite(l.gradNorm) && l.gradNorm > 0, `grad norm ${l.gradNorm}`).toBe(true);
    }
    console.log(`[webgpu cli] train: losses ${lines.map((l) => l.loss.toFixed(5)).join(', ')}`);
  }, 600_000);
});
