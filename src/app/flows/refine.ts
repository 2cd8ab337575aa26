/** The test-time refinement slider: a new number of iterations makes every result stale. */
import type { FlowContext } from './context';
import { invalidateResults } from './results';

export async function setRefine(ctx: FlowContext, iterations: number): Promise<void> {
  ctx.store.getState().refineChanged(iterations);
  await invalidateResults(ctx, 'refine');
}
