import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { Workbench } from './workbench';
import type { Actions, AppState, AppStore } from './store';

export interface AppContextValue {
  store: AppStore;
  wb: Workbench;
}

export const AppContext = createContext<AppContextValue | null>(null);

function useAppContext(): AppContextValue {
  const ctx = useContext(AppContext);
  if (!ctx) throw new Error('AppContext is missing');
  return ctx;
}

/** Subscribe to one slice of the store (re-renders only when that slice changes identity). */
export function useApp<T>(selector: (s: AppState & Actions) => T): T {
  return useStore(useAppContext().store, selector);
}

export function useWorkbench(): Workbench {
  return useAppContext().wb;
}
