/**
 * The workbench's flows: what happens when the user loads files, trains,
 * exports, … Each flow calls the worker through a Runner and records what
 * happened in the store. No DOM here: object URLs and downloads come in
 * through Platform, so the flows run in Node tests with an in-process runner.
 */
import { BACKEND_LABEL } from './backend-order';
import { splitSidecars, type NamedBlob } from './lib/files';
import type { AppStore, ImagePatch, ImageResult } from './store';
import type { Job, Runner } from './worker/runner';
import type { BackendName, FilmDoubt, StepPoint, TemplateInfo, ViewResult } from './worker/protocol';

export interface Platform {
  objectUrl(bytes: Uint8Array, type: string): string;
  revokeUrl(url: string): void;
  /** Offer a file for download (parts are concatenated). */
  save(name: string, parts: Uint8Array[], type: string): void;
  now(): number;
}

/** Collects progress events and applies them to the store in one update per tick, so 1,000 thumbnails mean a few dozen renders, not 1,000. */
class Batcher<T> {
  private items: T[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  constructor(private readonly apply: (items: T[]) => void, private readonly delayMs = 80) {}
  push(item: T): void {
    this.items.push(item);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.apply(items);
  }
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class Workbench {
  private seq = 0;
  private loads = 0;
  private loadJobs = new Set<Job<unknown>>();
  private alignJob: Job<unknown> | null = null;
  private readonly pendingAlign = new Set<string>();
  private trainJob: Job<unknown> | null = null;
  private doubtJob: Job<unknown> | null = null;
  private exportJob: Job<unknown> | null = null;
  private viewSeq = 0;

  constructor(readonly store: AppStore, readonly runner: Runner, private readonly platform: Platform) {}

  private get s() { return this.store.getState(); }

  private png(bytes: Uint8Array): string { return this.platform.objectUrl(bytes, 'image/png'); }

  private templateState(t: TemplateInfo) {
    const { png, framePng, ...info } = t;
    return { info, url: this.png(png), frameUrl: this.png(framePng) };
  }

  private revokeTemplate(): void {
    const t = this.s.template;
    if (t) { this.platform.revokeUrl(t.url); this.platform.revokeUrl(t.frameUrl); }
  }

  readyIds(): string[] {
    const { order, byId } = this.s.images;
    return order.filter((id) => byId[id].status === 'ready');
  }

  get busy(): { training: boolean; aligning: boolean; loading: boolean; exporting: boolean } {
    return { training: !!this.trainJob, aligning: !!this.alignJob, loading: this.loads > 0, exporting: !!this.exportJob };
  }

  // ---------------------------------------------------------------- start

  async start(order: BackendName[], wasmThreads?: number): Promise<void> {
    try {
      const r = await this.runner.call('init', { order, wasmThreads }).done;
      this.s.booted(r.backend, r.model, this.templateState(r.template));
      this.s.historyReplaced(r.history);
      this.s.formChanged({ locSize: r.model.locSize });
    } catch (e) {
      this.s.bootFailed(errorText(e));
    }
  }

  // ---------------------------------------------------------------- loading

  async addFiles(files: NamedBlob[]): Promise<void> {
    const { films, skipped } = splitSidecars(files);
    if (skipped.length) this.s.notify('info', `Skipped ${skipped.length} file${skipped.length > 1 ? 's' : ''} that are not films (${skipped.slice(0, 3).join(', ')}${skipped.length > 3 ? ', …' : ''}).`);
    if (films.length === 0) return;
    const items = films.map((f) => ({ id: `f${++this.seq}`, name: f.name, bytes: f.blob.size, status: 'queued' as const }));
    this.s.imagesQueued(items, skipped);
    const decodedIds: string[] = [];
    const batch = new Batcher<ImagePatch>((patches) => {
      this.s.imagesPatched(patches);
      this.s.loadingProgress(patches.length);
    });
    this.loads++;
    const job = this.runner.call('addFiles', { files: items.map((it, i) => ({ id: it.id, name: it.name, blob: films[i].blob })) }, (e) => {
      if (e.kind === 'decoded') {
        decodedIds.push(e.id);
        batch.push({ id: e.id, status: 'ready', width: e.width, height: e.height, format: e.format, details: e.details, thumbUrl: this.png(e.thumb) });
      } else {
        batch.push({ id: e.id, status: 'failed', error: e.reason });
      }
    });
    this.loadJobs.add(job);
    try {
      const r = await job.done;
      batch.flush();
      if (r.failed > 0) this.s.notify('error', `${r.failed} of ${items.length} file${items.length > 1 ? 's' : ''} could not be loaded — see the list under “Files that could not be loaded”.`);
      else this.s.notify('success', `Loaded ${r.decoded} film${r.decoded > 1 ? 's' : ''}.`);
    } catch (e) {
      batch.flush();
      this.s.notify('error', `Loading stopped: ${errorText(e)}`);
    } finally {
      this.loadJobs.delete(job);
      if (--this.loads === 0) this.s.loadingDone();
    }
    await this.align(decodedIds.filter((id) => this.s.images.byId[id]));
  }

  cancelLoading(): void {
    for (const j of this.loadJobs) j.control('cancel');
  }

  async tryDemo(count = 8): Promise<void> {
    try {
      const { files } = await this.runner.call('demo', { count, seed: Math.floor(Math.random() * 1e9) }).done;
      await this.addFiles(files.map((f) => ({ name: f.name, blob: new Blob([f.bytes as BlobPart], { type: 'image/png' }) })));
    } catch (e) {
      this.s.notify('error', `Could not make demo films: ${errorText(e)}`);
    }
  }

  async clearImages(): Promise<void> {
    this.cancelLoading();
    this.cancelAlign();
    await this.runner.call('removeImages', { ids: 'all' }).done;
    for (const id of this.s.images.order) {
      const it = this.s.images.byId[id];
      if (it.thumbUrl) this.platform.revokeUrl(it.thumbUrl);
      if (it.result) this.platform.revokeUrl(it.result.alignedUrl);
    }
    this.revokeView();
    this.s.imagesCleared();
  }

  async dismissFailed(): Promise<void> {
    const failed = this.s.images.order.filter((id) => this.s.images.byId[id].status === 'failed');
    await this.runner.call('removeImages', { ids: failed }).done;
    this.s.failedDismissed();
  }

  // ---------------------------------------------------------------- alignment

  async align(ids: string[] = this.readyIds().filter((id) => !this.s.images.byId[id].result)): Promise<void> {
    if (ids.length === 0) return;
    if (this.alignJob || this.trainJob) { for (const id of ids) this.pendingAlign.add(id); return; }
    // The doubt check waits for the next alignment to finish: the worker runs one job at a time.
    this.doubtJob?.control('cancel');
    this.s.alignmentStarted(ids.length);
    let done = 0;
    const batch = new Batcher<ImagePatch & { result: ImageResult }>((patches) => {
      for (const p of patches) {
        const old = this.s.images.byId[p.id]?.result;
        if (old) this.platform.revokeUrl(old.alignedUrl);
      }
      this.s.imagesPatched(patches);
      this.s.alignmentProgress(done);
    });
    const job = this.runner.call('align', { ids, refine: this.s.alignment.refine }, (e) => {
      done = e.done;
      batch.push({ id: e.id, result: { params: e.params, matrix: e.matrix, score: e.score, alignedUrl: this.png(e.aligned) } });
    });
    this.alignJob = job;
    let cancelled = false;
    try {
      const r = await job.done;
      batch.flush();
      cancelled = r.cancelled;
      this.s.alignmentFinished({ count: r.aligned, ms: r.ms, backend: r.backend, cancelled: r.cancelled });
    } catch (e) {
      batch.flush();
      this.s.alignmentFinished({ count: done, ms: 0, backend: this.s.backend?.active ?? '?', cancelled: true });
      this.s.notify('error', `Alignment stopped: ${errorText(e)}`);
    } finally {
      this.alignJob = null;
    }
    const sel = this.s.gallery.selectedId;
    if (sel && ids.includes(sel)) void this.loadView(sel);
    if (!cancelled) await this.alignPending();
    else this.pendingAlign.clear();
    if (!cancelled && !this.alignJob && !this.trainJob) void this.checkDoubts();
  }

  /**
   * After the plain alignment is shown: which films to look at first (the
   * engine's doubt rule: the network vs a short refinement, black border).
   * Any new alignment or training cancels it; the films it did not reach are
   * checked after the next alignment.
   */
  async checkDoubts(ids: string[] = this.readyIds().filter((id) => { const r = this.s.images.byId[id].result; return !!r && !r.doubt; })): Promise<void> {
    if (ids.length === 0 || this.doubtJob) return;
    // A doubt belongs to the result it was computed for: one replaced meanwhile (re-aligned) does not take it.
    const batch = new Batcher<{ id: string; doubt: FilmDoubt; url: string }>((items) => {
      const patches: ImagePatch[] = [];
      for (const it of items) {
        const r = this.s.images.byId[it.id]?.result;
        if (r && r.alignedUrl === it.url) patches.push({ id: it.id, result: { ...r, doubt: it.doubt } });
      }
      this.s.imagesPatched(patches);
    });
    const job = this.runner.call('doubts', { ids }, (e) => {
      const r = this.s.images.byId[e.id]?.result;
      if (r) batch.push({ id: e.id, doubt: e.doubt, url: r.alignedUrl });
    });
    this.doubtJob = job;
    try {
      await job.done;
    } catch (e) {
      this.s.notify('error', `The doubt check stopped: ${errorText(e)}`);
    } finally {
      batch.flush();
      this.doubtJob = null;
    }
  }

  private async alignPending(): Promise<void> {
    const next = [...this.pendingAlign].filter((id) => this.s.images.byId[id]?.status === 'ready');
    this.pendingAlign.clear();
    if (next.length) await this.align(next);
  }

  async setRefine(iterations: number): Promise<void> {
    this.s.refineChanged(iterations);
    await this.realignAll();
  }

  cancelAlign(): void {
    this.pendingAlign.clear();
    this.doubtJob?.control('cancel');
    this.alignJob?.control('cancel');
  }

  /** Weights or template changed: every result is stale. */
  async realignAll(): Promise<void> {
    for (const id of this.s.images.order) {
      const r = this.s.images.byId[id].result;
      if (r) this.platform.revokeUrl(r.alignedUrl);
    }
    this.revokeView();
    this.s.resultsInvalidated();
    if (this.alignJob) this.cancelAlign();
    while (this.alignJob) await new Promise((r) => setTimeout(r, 20));
    await this.align(this.readyIds());
  }

  // ---------------------------------------------------------------- compare view

  async select(id: string | null): Promise<void> {
    this.s.gallerySet({ selectedId: id });
    if (id) await this.loadView(id);
    else { this.revokeView(); }
  }

  private revokeView(): void {
    const v = this.s.view;
    if (v) { this.platform.revokeUrl(v.initialUrl); this.platform.revokeUrl(v.alignedUrl); }
  }

  private async loadView(id: string): Promise<void> {
    const mine = ++this.viewSeq;
    try {
      const v: ViewResult = await this.runner.call('view', { id }).done;
      // A later selection won the race: drop this answer.
      if (mine !== this.viewSeq || this.s.gallery.selectedId !== id) return;
      this.revokeView();
      this.s.viewLoaded({
        id: v.id, name: v.name, width: v.width, height: v.height, frame: v.frame, params: v.params, score: v.score,
        initialUrl: this.png(v.initial), alignedUrl: this.png(v.aligned), initialGray: v.initialGray, alignedGray: v.alignedGray,
      });
    } catch (e) {
      if (mine === this.viewSeq) this.s.viewFailed(errorText(e));
    }
  }

  // ---------------------------------------------------------------- template

  async buildMean(): Promise<void> {
    const ids = this.readyIds();
    if (ids.length === 0) { this.s.notify('error', 'Load some films first: the mean is built from the loaded images.'); return; }
    this.s.meanProgressed({ done: 0, total: ids.length });
    try {
      const m = await this.runner.call('buildMean', { ids }, (p) => this.s.meanProgressed(p)).done;
      if (this.s.mean) this.platform.revokeUrl(this.s.mean.url);
      this.s.meanBuilt({ url: this.png(m.png), width: m.width, height: m.height, count: m.count, box: m.proposed, proposed: m.proposed, lungBox: m.lungBox });
    } catch (e) {
      this.s.meanProgressed(null);
      this.s.notify('error', errorText(e));
    }
  }

  async useMeanTemplate(): Promise<void> {
    const mean = this.s.mean;
    if (!mean) return;
    await this.changeTemplate({ from: 'mean', box: mean.box }, 'Template built from the mean of the loaded films.');
  }

  async loadTemplateFile(file: NamedBlob): Promise<void> {
    const bytes = new Uint8Array(await file.blob.arrayBuffer());
    await this.changeTemplate({ from: 'file', name: file.name, bytes }, `Template loaded from ${file.name}.`);
  }

  async resetTemplate(): Promise<void> {
    await this.changeTemplate({ from: 'shipped' }, 'Back to the shipped canonical chest.');
  }

  private async changeTemplate(req: Parameters<Runner['call']>[1] & object, done: string): Promise<void> {
    try {
      const t = await this.runner.call('setTemplate', req as never).done;
      this.revokeTemplate();
      this.s.templateChanged(this.templateState(t));
      this.s.notify('success', done);
      await this.rescore();
    } catch (e) {
      this.s.notify('error', `Template not changed: ${errorText(e)}`);
    }
  }

  private async rescore(): Promise<void> {
    const { scores } = await this.runner.call('rescore', {}).done;
    const patches: ImagePatch[] = [];
    for (const [id, score] of Object.entries(scores)) {
      const r = this.s.images.byId[id]?.result;
      if (r) patches.push({ id, result: { ...r, score } });
    }
    this.s.imagesPatched(patches);
    const sel = this.s.gallery.selectedId;
    if (sel) await this.loadView(sel);
  }

  // ---------------------------------------------------------------- fine-tuning

  async train(): Promise<void> {
    if (this.trainJob) return;
    const ids = this.readyIds();
    if (ids.length === 0) { this.s.notify('error', 'Load some films (or press “Try it”) before fine-tuning.'); return; }
    this.cancelAlign();
    const form = this.s.form;
    this.s.trainingPreparing(0, Math.min(ids.length, form.maxImages));
    const steps = new Batcher<{ point: StepPoint; t: number }>((items) => {
      this.s.trainingSteps(items.map((i) => i.point), items.map((i) => i.t));
    }, 100);
    const job = this.runner.call('train', { ...form, ids }, (e) => {
      switch (e.kind) {
        case 'preparing': this.s.trainingPreparing(e.done, e.total); break;
        case 'started': this.s.trainingStarted(e.total); this.s.modelChanged(e.model); break;
        case 'step': steps.push({ point: e.point, t: this.platform.now() }); break;
        case 'sample':
          steps.flush();
          this.s.trainingSample({ step: e.step, name: e.name, inputUrl: this.png(e.input), alignedUrl: this.png(e.aligned), templateUrl: this.png(e.template) });
          break;
        case 'state': steps.flush(); this.s.trainingState(e.state); break;
      }
    });
    this.trainJob = job;
    try {
      const r = await job.done;
      steps.flush();
      this.s.trainingFinished(r);
      this.s.modelChanged(r.model);
      if (r.saveError) this.s.notify('error', r.saveError);
      if (r.failure) {
        const f = r.failure;
        if (f.movedTo) this.s.backendChanged(await this.runner.call('setBackend', { name: f.movedTo }).done);
        this.s.notify('error', `Fine-tuning stopped at step ${f.step + 1}: ${f.message}. ${f.fatal
          ? `Now on ${BACKEND_LABEL[f.movedTo!]}, with the weights of step ${f.keptStep}.`
          : `The weights from before that step are kept.`}${f.offer.length ? ` Continue on ${f.offer.map((b) => BACKEND_LABEL[b]).join(' or ')} from the Fine-tune panel.` : ''}`);
      } else if (r.steps > 0) {
        this.s.notify('success', `Fine-tuning ${r.stopped ? 'stopped' : 'finished'} after ${r.steps} step${r.steps > 1 ? 's' : ''}${r.saved ? '; the weights are saved in this browser' : ''}. Re-aligning with the new weights…`);
      }
    } catch (e) {
      steps.flush();
      this.s.trainingFailed(errorText(e));
      this.s.notify('error', `Fine-tuning failed: ${errorText(e)}`);
    } finally {
      this.trainJob = null;
    }
    await this.realignAll();
  }

  pauseTraining(): void { this.trainJob?.control('pause'); }
  resumeTraining(): void { this.trainJob?.control('resume'); }
  stopTraining(): void {
    if (!this.trainJob) return;
    this.s.trainingState('stopping');
    this.trainJob.control('stop');
  }

  async loadVgg(files: NamedBlob[]): Promise<void> {
    try {
      const named = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.blob.arrayBuffer()) })));
      const r = await this.runner.call('loadVgg', { files: named }).done;
      this.s.vggLoaded(r);
      this.s.formChanged({ perceptual: 'loaded' });
      this.s.notify('success', `Perceptual network loaded: ${r.description}.`);
    } catch (e) {
      this.s.notify('error', `VGG weights not loaded: ${errorText(e)}`);
    }
  }

  // ---------------------------------------------------------------- export and weights

  async exportAligned(): Promise<void> {
    const ids = this.readyIds();
    if (ids.length === 0) { this.s.notify('error', 'Nothing to export yet: load some films first.'); return; }
    const chunks: Uint8Array[] = [];
    this.s.exportProgress('aligned', 0, ids.length);
    const failed = this.s.images.order.map((id) => this.s.images.byId[id]).filter((it) => it.status === 'failed').map((it) => ({ name: it.name, reason: it.error ?? 'could not be read' }));
    const job = this.runner.call('exportAligned', { ids, ...this.s.exportOptions, failed }, (e) => {
      if (e.kind === 'chunk') chunks.push(e.bytes);
      else this.s.exportProgress('aligned', e.done, e.total);
    });
    this.exportJob = job;
    try {
      const r = await job.done;
      this.platform.save('cxr-align-aligned.zip', chunks, 'application/zip');
      this.s.notify('success', `Exported ${r.files} aligned film${r.files > 1 ? 's' : ''} with transforms.json and transforms.csv.`);
    } catch (e) {
      this.s.notify('error', `Export failed: ${errorText(e)}`);
    } finally {
      this.exportJob = null;
      this.s.exportProgress(null, 0, 0);
    }
  }

  cancelExport(): void { this.exportJob?.control('cancel'); }

  async exportWeights(): Promise<void> {
    this.s.exportProgress('weights', 0, 1);
    try {
      const r = await this.runner.call('exportWeights', {}).done;
      this.platform.save(r.name, [r.bytes], 'application/zip');
      this.s.notify('success', `Weights saved as ${r.name}.`);
    } catch (e) {
      this.s.notify('error', `Could not package the weights: ${errorText(e)}`);
    } finally {
      this.s.exportProgress(null, 0, 0);
    }
  }

  async loadWeights(files: NamedBlob[]): Promise<boolean> {
    if (this.trainJob) { this.s.notify('error', 'Stop fine-tuning before loading other weights.'); return false; }
    try {
      const named = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.blob.arrayBuffer()) })));
      const r = await this.runner.call('loadWeights', { files: named }).done;
      this.s.modelChanged(r.model);
      this.revokeTemplate();
      this.s.templateChanged(this.templateState(r.template));
      this.s.historyReplaced(r.history);
      this.s.formChanged({ locSize: r.model.locSize });
      this.s.notify('success', `Weights loaded (${r.model.label}). Re-aligning…`);
    } catch (e) {
      this.s.notify('error', `Weights not loaded: ${errorText(e)}`);
      return false;
    }
    await this.realignAll();
    return true;
  }

  async resetWeights(): Promise<void> {
    if (this.trainJob) { this.s.notify('error', 'Stop fine-tuning before resetting the weights.'); return; }
    try {
      const r = await this.runner.call('resetWeights', {}).done;
      this.s.modelChanged(r.model);
      this.revokeTemplate();
      this.s.templateChanged(this.templateState(r.template));
      this.s.historyReplaced(r.history);
      this.s.formChanged({ locSize: r.model.locSize });
      this.s.notify('success', `Back to the ${r.model.kind === 'identity' ? 'identity model' : 'shipped default model'}; saved weights removed from this browser.`);
    } catch (e) {
      this.s.notify('error', `Reset failed: ${errorText(e)}`);
      return;
    }
    await this.realignAll();
  }

  // ---------------------------------------------------------------- backend

  async switchBackend(name: BackendName): Promise<void> {
    if (this.trainJob || this.exportJob) { this.s.notify('error', 'Wait for fine-tuning or export to finish before switching the backend.'); return; }
    this.cancelAlign();
    this.s.backendSwitching(true);
    try {
      const r = await this.runner.call('setBackend', { name }).done;
      const { error, ...state } = r;
      this.s.backendChanged(state);
      this.s.checked(null);
      if (error) { this.s.notify('error', error); return; }
      this.s.notify('success', `Now computing on ${BACKEND_LABEL[name]}.`);
    } catch (e) {
      this.s.backendSwitching(false);
      this.s.notify('error', errorText(e));
      return;
    }
    await this.realignAll();
  }

  async checkBackend(): Promise<void> {
    const active = this.s.backend?.active;
    if (!active) return;
    if (this.trainJob || this.exportJob) { this.s.notify('error', 'Wait for fine-tuning or export to finish first.'); return; }
    const reference: BackendName = active === 'wasm' ? 'cpu' : 'wasm';
    this.s.backendSwitching(true);
    try {
      const r = await this.runner.call('checkBackend', { reference }).done;
      this.s.checked(r);
    } catch (e) {
      this.s.checked({ error: errorText(e) });
    } finally {
      this.s.backendSwitching(false);
    }
  }
}
