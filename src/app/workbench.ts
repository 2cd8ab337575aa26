/**
 * The panels' one handle on the flows: a thin facade, one line a method,
 * over src/app/flows/ (one file per user action, each given the store, the
 * runner, the platform and the running-job registry). No DOM here: object
 * URLs and downloads come in through Platform, so the flows run in Node
 * tests with an in-process runner.
 */
import * as flow from './flows';
import type { NamedBlob } from './lib/files';
import type { AppStore } from './store';
import type { Runner } from './worker/runner';
import type { BackendName } from './worker/protocol';

export type { Platform } from './flows';

export class Workbench {
  private readonly ctx: flow.FlowContext;

  constructor(readonly store: AppStore, readonly runner: Runner, platform: flow.Platform) {
    this.ctx = { store, runner, platform, jobs: new flow.Jobs() };
  }

  readyIds(): string[] { return flow.readyIds(this.ctx); }

  get busy(): { training: boolean; aligning: boolean; loading: boolean; exporting: boolean } {
    const { jobs } = this.ctx;
    return { training: jobs.has('train'), aligning: jobs.has('align'), loading: jobs.has('load'), exporting: jobs.has('export') };
  }

  start(order: BackendName[], wasmThreads?: number): Promise<void> { return flow.start(this.ctx, order, wasmThreads); }

  addFiles(files: NamedBlob[]): Promise<void> { return flow.addFiles(this.ctx, files); }
  cancelLoading(): void { flow.cancelLoading(this.ctx); }
  tryDemo(count = 8): Promise<void> { return flow.tryDemo(this.ctx, count); }
  clearImages(): Promise<void> { return flow.clearImages(this.ctx); }
  dismissFailed(): Promise<void> { return flow.dismissFailed(this.ctx); }

  align(ids?: string[]): Promise<void> { return flow.align(this.ctx, ids); }
  checkDoubts(ids?: string[]): Promise<void> { return flow.checkDoubts(this.ctx, ids); }
  setRefine(iterations: number): Promise<void> { return flow.setRefine(this.ctx, iterations); }
  cancelAlign(): void { flow.cancelAlign(this.ctx); }
  /** Every result is stale ("Re-align all"): see flows/results.ts. */
  realignAll(): Promise<void> { return flow.invalidateResults(this.ctx, 'user'); }

  select(id: string | null): Promise<void> { return flow.select(this.ctx, id); }

  buildMean(): Promise<void> { return flow.buildMean(this.ctx); }
  useMeanTemplate(): Promise<void> { return flow.useMeanTemplate(this.ctx); }
  loadTemplateFile(file: NamedBlob): Promise<void> { return flow.loadTemplateFile(this.ctx, file); }
  resetTemplate(): Promise<void> { return flow.resetTemplate(this.ctx); }

  train(): Promise<void> { return flow.train(this.ctx); }
  pauseTraining(): void { flow.pauseTraining(this.ctx); }
  resumeTraining(): void { flow.resumeTraining(this.ctx); }
  stopTraining(): void { flow.stopTraining(this.ctx); }
  loadVgg(files: NamedBlob[]): Promise<void> { return flow.loadVgg(this.ctx, files); }

  exportAligned(): Promise<void> { return flow.exportAligned(this.ctx); }
  cancelExport(): void { flow.cancelExport(this.ctx); }
  exportWeights(): Promise<void> { return flow.exportWeights(this.ctx); }
  loadWeights(files: NamedBlob[]): Promise<boolean> { return flow.loadWeights(this.ctx, files); }
  resetWeights(): Promise<void> { return flow.resetWeights(this.ctx); }

  switchBackend(name: BackendName): Promise<void> { return flow.switchBackend(this.ctx, name); }
  checkBackend(): Promise<void> { return flow.checkBackend(this.ctx); }
}
