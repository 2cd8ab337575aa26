/** The mean (cropped to the user's box) becomes the template. */
import type { FlowContext } from './context';
import { changeTemplate } from './template';

export async function useMeanTemplate(ctx: FlowContext): Promise<void> {
  const mean = ctx.store.getState().mean;
  if (!mean) return;
  await changeTemplate(ctx, { from: 'mean', box: mean.box }, 'Template built from the mean of the loaded films.');
}
