/**
 * The engine worker's handlers: one session, and one module per job
 * (backend, films, align, template, train, weights, export) answering the
 * protocol's methods. DOM-free: the browser-only pieces (fetch, IndexedDB,
 * wasm URLs) come in through SessionDeps, so Node tests run exactly this.
 */
import { tf } from '../../../engine';
import type { Handlers } from '../dispatcher';
import { Session, type SessionDeps } from '../session';
import * as align from './align';
import * as backend from './backend';
import * as exporting from './export';
import * as films from './films';
import * as template from './template';
import * as training from './train';
import * as weights from './weights';

export { IDENTITY_LABEL } from './weights';

export function engineHandlers(deps: SessionDeps): Handlers {
  const s = new Session(deps);
  return {
    init: (p) => backend.init(s, p.order, p.wasmThreads),
    setBackend: (p) => backend.setBackend(s, p.name),
    checkBackend: (p) => backend.checkBackend(s, p.reference),
    addFiles: (p, ctx) => films.addFiles(s, p.files, ctx),
    removeImages: (p) => films.removeImages(s, p.ids),
    demo: (p) => films.demo(s, p.count, p.seed),
    align: (p, ctx) => align.align(s, p.ids, p.refine, ctx),
    doubts: (p, ctx) => align.doubts(s, p.ids, ctx),
    view: (p) => align.view(s, p.id),
    rescore: () => align.rescore(s),
    buildMean: (p, ctx) => template.buildMean(s, p.ids, ctx),
    setTemplate: (p) => template.setTemplate(s, p),
    train: (p, ctx) => training.train(s, p, ctx),
    exportAligned: (p, ctx) => exporting.exportAligned(s, p, ctx),
    exportWeights: () => weights.exportWeights(s),
    loadWeights: (p) => weights.loadWeights(s, p.files),
    resetWeights: () => weights.resetWeights(s),
    loadVgg: (p) => weights.loadVgg(s, p.files),
    memory: async () => ({ ...tf.memory(), images: s.images.size }),
  };
}
