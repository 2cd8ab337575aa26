/** "Try it": synthetic films from the worker, loaded like the user's own. */
import type { FlowContext } from './context';
import { addFiles } from './load-files';
import { errorText } from './shared';

export async function tryDemo(ctx: FlowContext, count = 8): Promise<void> {
  try {
    const { files } = await ctx.runner.call('demo', { count, seed: Math.floor(Math.random() * 1e9) }).done;
    await addFiles(ctx, files.map((f) => ({ name: f.name, blob: new Blob([f.bytes as BlobPart], { type: 'image/png' }) })));
  } catch (e) {
    ctx.store.getState().notify('error', `Could not make demo films: ${errorText(e)}`);
  }
}
