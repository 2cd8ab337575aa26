/**
 * The CLI's shared host rules, in-process and small: output names that clash
 * (both films aligned, the later one suffixed, a note naming both) and the one
 * template rule of align --refine, eval and canonical (cli/model.ts loadTemplate).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlignmentModel, defaultStnConfig, encodePng, modelFiles, serializeModel, syntheticChest } from '../src/engine/index';
import { alignCommand } from './commands/align';
import { setupBackend } from './backend';
import { DEFAULT_TEMPLATE, loadTemplate } from './model';
import { silentSink } from './progress';

const tmp = mkdtempSync(join(tmpdir(), 'cxr-align-host-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let modelDir: string;

beforeAll(async () => {
  await setupBackend('wasm');
  const m = new AlignmentModel(defaultStnConfig({ locSize: 32, frame: { width: 24, height: 30 } }));
  modelDir = join(tmp, 'model');
  mkdirSync(modelDir);
  for (const [name, bytes] of modelFiles(await serializeModel(m))) writeFileSync(join(modelDir, name), bytes);
  m.dispose();
});

describe('output names (the engine\'s outputNames over the whole plan)', () => {
  it('aligns both films that would write one output; the later in the plan gets "-2", and a note names both', async () => {
    const dir = join(tmp, 'films');
    mkdirSync(join(dir, 'more'), { recursive: true });
    writeFileSync(join(dir, 'a.png'), encodePng(syntheticChest({ width: 60, height: 70, seed: 1 })));
    writeFileSync(join(dir, 'more', 'A.png'), encodePng(syntheticChest({ width: 60, height: 70, seed: 2 })));
    const logs: string[] = [];
    const out = join(tmp, 'out');
    const s = await alignCommand({
      inputs: [join(dir, 'a.png'), join(dir, 'more', 'A.png')], out, model: modelDir, workers: 0, sink: silentSink, log: (m) => logs.push(m),
    });
    expect([s.aligned, s.failed]).toEqual([2, []]);
    expect(logs).toContain(`note: ${join(dir, 'more', 'A.png')} and ${join(dir, 'a.png')} would both write A.png; ${join(dir, 'more', 'A.png')} is written as A-2.png`);
    expect(existsSync(join(out, 'a.png')) && existsSync(join(out, 'A-2.png'))).toBe(true);
    const t = JSON.parse(readFileSync(join(out, 'transforms.json'), 'utf8'));
    expect(Object.keys(t.transforms)).toEqual([join(dir, 'a.png'), join(dir, 'more', 'A.png')]);
  });
});

describe('the template rule (loadTemplate)', () => {
  it('--template, else the model folder\'s template.png, else models/canonical-chest.png; a named file that is missing is an error naming it', () => {
    const notes: string[] = [];
    const note = (m: string) => notes.push(m);
    const own = join(tmp, 'own.png');
    writeFileSync(own, encodePng(syntheticChest({ width: 40, height: 50 })));
    expect(loadTemplate(own, modelDir, note)).toMatchObject({ origin: 'explicit', name: own, image: { width: 40, height: 50 } });
    expect(() => loadTemplate(join(tmp, 'nope.png'), modelDir, note)).toThrow(`--template ${join(tmp, 'nope.png')}: no such file`);
    // The test model's folder has no template.png: the shipped canonical chest.
    if (existsSync(DEFAULT_TEMPLATE)) expect(loadTemplate(undefined, modelDir, note)).toMatchObject({ origin: 'canonical', name: DEFAULT_TEMPLATE });
    writeFileSync(join(modelDir, 'template.png'), encodePng(syntheticChest({ width: 32, height: 40 })));
    expect(loadTemplate(undefined, modelDir, note)).toMatchObject({ origin: 'model', name: join(modelDir, 'template.png') });
    // An unreadable one is passed over, with a note.
    writeFileSync(join(modelDir, 'template.png'), 'not a png');
    expect(loadTemplate(undefined, join(modelDir, 'model.json'), note).origin).not.toBe('model');
    expect(notes.join('\n')).toContain(`note: ${join(modelDir, 'template.png')} could not be read`);
    rmSync(join(modelDir, 'template.png'));
  });
});
