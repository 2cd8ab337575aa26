/**
 * The one store every panel renders from. Updates are named (imagesDecoded,
 * trainingStep, …) so a change in the UI can be traced to the flow that made
 * it; they are plain state transitions, and the flows that call them live in
 * flows/ (one file per user action). Vanilla zustand, so Node tests drive it
 * without React.
 */
import { createStore } from 'zustand/vanilla';
import type {
  AffineMatrix, AffineParams, BackendState, Box, CheckResult, FilmDoubt, ModelInfo, Size, StepPoint, TemplateInfo, TrainResult,
  TrainPreset, TrainSettings, ViewResult,
} from './worker/protocol';

export type Tab = 'images' | 'aligned' | 'template' | 'finetune' | 'export' | 'backend';

export interface ImageResult {
  params: AffineParams;
  matrix: AffineMatrix;
  score: number;
  alignedUrl: string;
  /** The doubt check, once it has run (after the plain alignment is shown). */
  doubt?: FilmDoubt;
}

export interface ImageItem {
  id: string;
  name: string;
  bytes: number;
  status: 'queued' | 'ready' | 'failed';
  thumbUrl?: string;
  width?: number;
  height?: number;
  format?: string;
  details?: string;
  error?: string;
  result?: ImageResult;
}

export type ImagePatch = { id: string } & Partial<Omit<ImageItem, 'id'>>;

export interface Notice {
  id: number;
  level: 'info' | 'success' | 'error';
  text: string;
}

export type SortKey = 'order' | 'name' | 'worst' | 'best' | 'doubtful';
export type FilterKey = 'all' | 'poor' | 'unaligned';
export type CompareMode = 'side' | 'blend' | 'slider';

/** The compare view: the worker's ViewResult with its PNGs as object URLs. */
export type ViewState = Pick<ViewResult, 'id' | 'name' | 'width' | 'height' | 'frame' | 'params' | 'score' | 'initialGray' | 'alignedGray'> & {
  initialUrl: string;
  alignedUrl: string;
};

export interface SampleItem {
  step: number;
  name: string;
  inputUrl: string;
  alignedUrl: string;
  templateUrl: string;
}

export type { TrainPreset };

/** The fine-tune form, spread into the train call's settings; `preset`: which recipe ("adapt" by default). */
export type TrainForm = Omit<TrainSettings, 'ids' | 'preset'> & { preset: TrainPreset };

/** Why every alignment result was dropped (flows/results.ts; `cleared`: the films themselves were removed). */
export type StaleReason = 'weights' | 'template' | 'backend' | 'refine' | 'training' | 'user' | 'cleared';

export interface TrainingState {
  status: 'idle' | 'preparing' | 'running' | 'paused' | 'stopping';
  /** `teacher`: refining the model's frames on the films (preset "adapt"), after `films`. */
  prepared: { done: number; total: number; phase: 'films' | 'teacher' };
  /** Steps planned for the current run, and done so far in it. */
  total: number;
  done: number;
  /** Every step the loaded weights have seen (previous runs too): the chart's data. */
  points: StepPoint[];
  /** Wall-clock times of this run's recent steps, for steps/s (pauses excluded). */
  stepTimes: number[];
  samples: SampleItem[];
  last?: TrainResult;
  error?: string;
}

export interface AppState {
  tab: Tab;
  boot: { status: 'starting' | 'ready' | 'failed'; error?: string };
  backend: BackendState | null;
  backendBusy: boolean;
  check: (CheckResult & { error?: undefined }) | { error: string } | null;
  model: ModelInfo | null;
  template: { info: Omit<TemplateInfo, 'png' | 'framePng'>; url: string; frameUrl: string } | null;
  images: { order: string[]; byId: Record<string, ImageItem> };
  skipped: string[];
  loading: { running: boolean; done: number; total: number };
  alignment: {
    running: boolean; done: number; total: number; refine: number;
    last?: { count: number; ms: number; backend: string; cancelled: boolean };
    /**
     * The results' generation: bumped whenever every result is dropped (resultsInvalidated, imagesCleared).
     * An alignment keeps the generation it started in; its events from an older one are dropped.
     */
    generation: number;
    invalidatedBy?: StaleReason;
  };
  gallery: { sort: SortKey; filter: FilterKey; selectedId: string | null; mode: CompareMode; against: 'template' | 'initial'; outline: boolean };
  view: ViewState | null;
  viewError: string | null;
  mean: { url: string; width: number; height: number; count: number; box: Box; proposed: Box; lungBox: Box } | null;
  meanProgress: { done: number; total: number } | null;
  form: TrainForm;
  training: TrainingState;
  exporting: { kind: 'aligned' | 'weights' | null; done: number; total: number };
  exportOptions: { resolution: 'frame' | 'original'; bitDepth: 8 | 16 };
  vgg: { description: string } | null;
  notices: Notice[];
}

export const DEFAULT_FORM: TrainForm = {
  steps: 300,
  batchSize: 8,
  lr: 1e-4,
  loss: 'lncc',
  lambda: 20,
  augment: true,
  locSize: 128,
  frame: { width: 128, height: 160 },
  perceptual: 'builtin',
  maxImages: 500,
  sampleEvery: 100,
  preset: 'adapt',
};

export function initialState(): AppState {
  return {
    tab: 'images',
    boot: { status: 'starting' },
    backend: null,
    backendBusy: false,
    check: null,
    model: null,
    template: null,
    images: { order: [], byId: {} },
    skipped: [],
    loading: { running: false, done: 0, total: 0 },
    alignment: { running: false, done: 0, total: 0, refine: 0, generation: 0 },
    gallery: { sort: 'order', filter: 'all', selectedId: null, mode: 'side', against: 'template', outline: true },
    view: null,
    viewError: null,
    mean: null,
    meanProgress: null,
    form: { ...DEFAULT_FORM, frame: { ...DEFAULT_FORM.frame } },
    training: { status: 'idle', prepared: { done: 0, total: 0, phase: 'films' }, total: 0, done: 0, points: [], stepTimes: [], samples: [] },
    exporting: { kind: null, done: 0, total: 0 },
    exportOptions: { resolution: 'frame', bitDepth: 8 },
    vgg: null,
    notices: [],
  };
}

let noticeId = 1;

export function createAppStore() {
  return createStore<AppState & Actions>()((set, get) => {
    const patchTraining = (p: Partial<TrainingState>) => set((s) => ({ training: { ...s.training, ...p } }));
    const actions: Actions = {
      setTab: (tab) => set({ tab }),
      booted: (backend, model, template) => set({ boot: { status: 'ready' }, backend, model, template }),
      bootFailed: (error) => set({ boot: { status: 'failed', error } }),
      backendSwitching: (busy) => set({ backendBusy: busy }),
      backendChanged: (backend) => set({ backend, backendBusy: false }),
      checked: (check) => set({ check }),
      modelChanged: (model) => set({ model }),
      templateChanged: (template) => set({ template }),

      imagesQueued: (items, skipped) => set((s) => {
        const byId = { ...s.images.byId };
        for (const it of items) byId[it.id] = it;
        return {
          images: { order: [...s.images.order, ...items.map((i) => i.id)], byId },
          skipped: [...s.skipped, ...skipped],
          loading: { running: true, done: s.loading.running ? s.loading.done : 0, total: (s.loading.running ? s.loading.total : 0) + items.length },
        };
      }),
      imagesPatched: (patches) => set((s) => {
        if (patches.length === 0) return {};
        const byId = { ...s.images.byId };
        for (const p of patches) {
          const cur = byId[p.id];
          if (cur) byId[p.id] = { ...cur, ...p };
        }
        return { images: { order: s.images.order, byId } };
      }),
      loadingProgress: (done) => set((s) => ({ loading: { ...s.loading, done: s.loading.done + done } })),
      loadingDone: () => set((s) => ({ loading: { ...s.loading, running: false } })),
      imagesCleared: () => set((s) => ({
        images: { order: [], byId: {} }, skipped: [], view: null, viewError: null,
        gallery: { ...s.gallery, selectedId: null },
        alignment: { ...s.alignment, running: false, done: 0, total: 0, generation: s.alignment.generation + 1, invalidatedBy: 'cleared' },
      })),
      failedDismissed: () => set((s) => {
        const keep = s.images.order.filter((id) => s.images.byId[id].status !== 'failed');
        const byId: Record<string, ImageItem> = {};
        for (const id of keep) byId[id] = s.images.byId[id];
        return { images: { order: keep, byId }, skipped: [] };
      }),

      alignmentStarted: (total) => set({ alignment: { ...get().alignment, running: true, done: 0, total } }),
      alignmentProgress: (done) => set((s) => ({ alignment: { ...s.alignment, done } })),
      alignmentFinished: (last) => set((s) => ({ alignment: { ...s.alignment, running: false, last } })),
      refineChanged: (refine) => set((s) => ({ alignment: { ...s.alignment, refine } })),
      resultsInvalidated: (reason) => set((s) => {
        const byId: Record<string, ImageItem> = {};
        for (const id of s.images.order) {
          const { result: _r, ...rest } = s.images.byId[id];
          void _r;
          byId[id] = rest;
        }
        return {
          images: { order: s.images.order, byId }, view: null,
          alignment: { ...s.alignment, generation: s.alignment.generation + 1, invalidatedBy: reason },
        };
      }),

      gallerySet: (p) => set((s) => ({ gallery: { ...s.gallery, ...p } })),
      viewLoaded: (view) => set({ view, viewError: null }),
      viewFailed: (viewError) => set({ view: null, viewError }),

      meanProgressed: (p) => set({ meanProgress: p }),
      meanBuilt: (mean) => set({ mean, meanProgress: null }),
      meanBoxChanged: (box) => set((s) => (s.mean ? { mean: { ...s.mean, box } } : {})),

      formChanged: (p) => set((s) => ({ form: { ...s.form, ...p } })),
      trainingPreparing: (done, total, phase = 'films') => patchTraining({ status: 'preparing', prepared: { done, total, phase }, error: undefined }),
      trainingStarted: (total) => patchTraining({ status: 'running', total, done: 0, stepTimes: [], last: undefined, error: undefined }),
      trainingSteps: (points, times) => set((s) => ({
        training: {
          ...s.training,
          points: [...s.training.points, ...points],
          done: s.training.done + points.length,
          stepTimes: [...s.training.stepTimes, ...times].slice(-64),
        },
      })),
      trainingSample: (sample) => set((s) => ({ training: { ...s.training, samples: [...s.training.samples, sample] } })),
      trainingState: (status) => patchTraining(status === 'paused' ? { status, stepTimes: [] } : { status }),
      trainingFinished: (last) => patchTraining({ status: 'idle', last }),
      trainingFailed: (error) => patchTraining({ status: 'idle', error }),
      historyReplaced: (points) => patchTraining({ points, samples: [], done: 0, total: 0, last: undefined }),

      exportProgress: (kind, done, total) => set({ exporting: { kind, done, total } }),
      exportOptionsChanged: (p) => set((s) => ({ exportOptions: { ...s.exportOptions, ...p } })),
      vggLoaded: (vgg) => set({ vgg }),

      notify: (level, text) => {
        const n = { id: noticeId++, level, text };
        set((s) => ({ notices: [...s.notices.slice(-3), n] }));
        return n.id;
      },
      dismiss: (id) => set((s) => ({ notices: s.notices.filter((n) => n.id !== id) })),
    };
    return { ...initialState(), ...actions };
  });
}

export interface Actions {
  setTab(tab: Tab): void;
  booted(backend: BackendState, model: ModelInfo, template: AppState['template']): void;
  bootFailed(error: string): void;
  backendSwitching(busy: boolean): void;
  backendChanged(backend: BackendState): void;
  checked(check: AppState['check']): void;
  modelChanged(model: ModelInfo): void;
  templateChanged(template: AppState['template']): void;
  imagesQueued(items: ImageItem[], skipped: string[]): void;
  imagesPatched(patches: ImagePatch[]): void;
  loadingProgress(done: number): void;
  loadingDone(): void;
  imagesCleared(): void;
  failedDismissed(): void;
  alignmentStarted(total: number): void;
  alignmentProgress(done: number): void;
  alignmentFinished(last: AppState['alignment']['last']): void;
  refineChanged(iterations: number): void;
  /** Every result is stale: drop them (and the compare view) and start a new generation. */
  resultsInvalidated(reason: StaleReason): void;
  gallerySet(p: Partial<AppState['gallery']>): void;
  viewLoaded(view: ViewState): void;
  viewFailed(error: string): void;
  meanProgressed(p: { done: number; total: number } | null): void;
  meanBuilt(mean: AppState['mean']): void;
  meanBoxChanged(box: Box): void;
  formChanged(p: Partial<TrainForm>): void;
  trainingPreparing(done: number, total: number, phase?: 'films' | 'teacher'): void;
  trainingStarted(total: number): void;
  trainingSteps(points: StepPoint[], times: number[]): void;
  trainingSample(sample: SampleItem): void;
  trainingState(status: TrainingState['status']): void;
  trainingFinished(last: TrainResult): void;
  trainingFailed(error: string): void;
  historyReplaced(points: StepPoint[]): void;
  exportProgress(kind: AppState['exporting']['kind'], done: number, total: number): void;
  exportOptionsChanged(p: Partial<AppState['exportOptions']>): void;
  vggLoaded(vgg: AppState['vgg']): void;
  notify(level: Notice['level'], text: string): number;
  dismiss(id: number): void;
}

export type AppStore = ReturnType<typeof createAppStore>;

/** Images in gallery order after the user's sort and filter. */
export function visibleIds(s: Pick<AppState, 'images' | 'gallery'>, poorScore: number): string[] {
  const items = s.images.order.map((id) => s.images.byId[id]).filter((it) => it.status === 'ready');
  const filtered = items.filter((it) => {
    if (s.gallery.filter === 'poor') return !!it.result && it.result.score >= poorScore;
    if (s.gallery.filter === 'unaligned') return !it.result;
    return true;
  });
  const score = (it: ImageItem) => it.result?.score ?? Number.NaN;
  switch (s.gallery.sort) {
    case 'name': filtered.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true })); break;
    // Unaligned films sort last either way.
    case 'worst': filtered.sort((a, b) => (Number.isNaN(score(a)) ? 1 : Number.isNaN(score(b)) ? -1 : score(b) - score(a))); break;
    case 'best': filtered.sort((a, b) => (Number.isNaN(score(a)) ? 1 : Number.isNaN(score(b)) ? -1 : score(a) - score(b))); break;
    // Doubtful films first (more reasons first, then the larger disagreement); the rest keep load order.
    case 'doubtful': {
      const key = (it: ImageItem) => (it.result?.doubt?.reasons.length ? it.result.doubt.reasons.length * 1e4 + it.result.doubt.disagreementPx : -1);
      filtered.sort((a, b) => key(b) - key(a));
      break;
    }
    default: break;
  }
  return filtered.map((it) => it.id);
}
