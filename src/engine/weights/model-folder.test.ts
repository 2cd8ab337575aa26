import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';
import { syntheticChest } from '../image/synthetic-chest';
import { encodePng } from '../io/encode-png';
import { defaultStnConfig } from '../models/stn/config';
import { AlignmentModel } from '../models/stn/stn';
import { modelFolderFiles, readMetadata, readModelFolder, TEMPLATE_FILE } from './model-folder';
import { resolveTemplate } from './template-rule';

beforeAll(async () => { await useBackend(); });

describe('the model folder, one schema for both hosts', () => {
  it('writes and reads back weights, steps, history, training and template.png', async () => {
    const model = new AlignmentModel(defaultStnConfig({ locSize: 32, frame: { width: 16, height: 20 }, seed: 2 }));
    const template = encodePng(syntheticChest({ width: 16, height: 20 }));
    const history = [{ step: 0, loss: 0.5, parts: { lncc: 0.5 }, lr: 1e-4, ms: 10, skipped: false }];
    const files = await modelFolderFiles(model, {
      metadata: { steps: 7, history, training: { by: 'cli', settings: { batchSize: 4 }, loss: { kind: 'lncc', window: 9 }, films: 3 }, template: null },
      template,
    });
    const shards = JSON.parse(new TextDecoder().decode(files.get('model.json'))).weightsManifest[0].paths as string[];
    expect([...files.keys()].sort()).toEqual(['model.json', TEMPLATE_FILE, ...shards].sort());
    const back = await readModelFolder(async (n) => files.get(n) ?? null, 'test folder');
    expect(back.metadata).toMatchObject({ steps: 7, history, template: TEMPLATE_FILE, training: { by: 'cli', films: 3 } });
    expect(back.template).toEqual(template);
    back.model.dispose();
    const noTemplate = await readModelFolder(async (n) => (n === TEMPLATE_FILE ? null : files.get(n) ?? null), 'test folder');
    expect(noTemplate.template).toBeNull();
    noTemplate.model.dispose();
    model.dispose();
  });

  it('reads older metadata as meant: the CLI\'s trainedSteps and prose history, the workbench\'s settings form', () => {
    const cli = readMetadata({ trainedSteps: 700, history: 'stage 4 of 4', template: 'template.png', settings: { steps: 700 }, loss: { kind: 'lncc', window: 9 } });
    expect(cli).toMatchObject({ steps: 700, history: [], note: 'stage 4 of 4', template: TEMPLATE_FILE, training: { by: 'cli', settings: { steps: 700 } } });
    const app = readMetadata({ steps: 12, history: [{ step: 11, loss: 0.3, parts: {}, lr: 1e-4, ms: 5, skipped: false }], training: { steps: 12, loss: 'lncc', maxImages: 8 } });
    expect(app).toMatchObject({ steps: 12, training: { by: 'workbench', films: 8, loss: { kind: 'lncc' } } });
    expect(app.history).toHaveLength(1);
    expect(readMetadata(undefined)).toEqual({ steps: 0, history: [], training: null, template: null });
  });

  it('one template rule: named → the model folder\'s → the canonical chest → a stand-in', () => {
    const png = (w: number) => encodePng(syntheticChest({ width: w, height: 20 }));
    expect(resolveTemplate({ explicit: { name: 'mine.png', bytes: png(10) }, model: { name: 'm', bytes: png(12) } }).origin).toBe('explicit');
    expect(resolveTemplate({ model: { name: 'm/template.png', bytes: png(12) }, canonical: { name: 'c', bytes: png(14) } })).toMatchObject({ origin: 'model', image: { width: 12 } });
    const broken = resolveTemplate({ model: { name: 'm/template.png', bytes: new Uint8Array([1, 2]) }, canonical: { name: 'c.png', bytes: png(14) } });
    expect(broken).toMatchObject({ origin: 'canonical', image: { width: 14 } });
    expect(broken.notes[0]).toMatch(/m\/template\.png could not be read/);
    expect(resolveTemplate({ model: { name: 'm', bytes: null }, canonical: { name: 'c', bytes: null } }).origin).toBe('generated');
    expect(() => resolveTemplate({ explicit: { name: 'bad.png', bytes: new Uint8Array([0]) } })).toThrow(/bad\.png/);
  });
});
