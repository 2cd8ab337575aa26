/**
 * Where fine-tuned weights survive a reload. The browser uses IndexedDB (it
 * holds tens of megabytes where localStorage holds a few, and it is reachable
 * from the worker); tests use the in-memory store.
 */
import type { ModelJson } from '../../engine/weights/model-io';
import type { ModelKind } from './protocol';

export interface SavedWeights {
  modelJson: ModelJson;
  weightData: Uint8Array;
  kind: Extract<ModelKind, 'fine-tuned' | 'loaded'>;
  label: string;
  savedAt: string;
  /** The template the weights were trained to match (template.png of the model folder). */
  template?: Uint8Array;
}

export interface WeightStore {
  load(): Promise<SavedWeights | null>;
  save(w: SavedWeights): Promise<void>;
  clear(): Promise<void>;
}

export class MemoryWeightStore implements WeightStore {
  private saved: SavedWeights | null = null;
  async load() { return this.saved; }
  async save(w: SavedWeights) { this.saved = { ...w, weightData: w.weightData.slice(), template: w.template?.slice() }; }
  async clear() { this.saved = null; }
}

const DB = 'cxr-align';
const STORE = 'weights';
const KEY = 'current';

export class IdbWeightStore implements WeightStore {
  private db: Promise<IDBDatabase> | null = null;

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('IndexedDB could not be opened'));
    });
    return this.db;
  }

  private async tx<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest): Promise<T> {
    const db = await this.open();
    return new Promise<T>((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const req = fn(t.objectStore(STORE));
      t.oncomplete = () => resolve(req.result as T);
      t.onerror = () => reject(t.error ?? new Error('IndexedDB transaction failed'));
      t.onabort = () => reject(t.error ?? new Error('IndexedDB transaction aborted (storage full?)'));
    });
  }

  async load(): Promise<SavedWeights | null> {
    return (await this.tx<SavedWeights | undefined>('readonly', (s) => s.get(KEY))) ?? null;
  }

  async save(w: SavedWeights): Promise<void> {
    await this.tx('readwrite', (s) => s.put(w, KEY));
  }

  async clear(): Promise<void> {
    await this.tx('readwrite', (s) => s.delete(KEY));
  }
}
