/** What the three template actions share: set it in the worker, show it, and mark the results stale (flows/results.ts). */
import type { TemplateRequest } from '../worker/protocol';
import type { FlowContext } from './context';
import { invalidateResults } from './results';
import { errorText, revokeTemplate, templateState } from './shared';

export async function changeTemplate(ctx: FlowContext, req: TemplateRequest, done: string): Promise<void> {
  const s = ctx.store.getState();
  try {
    const t = await ctx.runner.call('setTemplate', req).done;
    revokeTemplate(ctx);
    s.templateChanged(templateState(ctx, t));
    s.notify('success', done);
    await invalidateResults(ctx, 'template');
  } catch (e) {
    s.notify('error', `Template not changed: ${errorText(e)}`);
  }
}
