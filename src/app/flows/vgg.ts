/** The user's own VGG weights for the perceptual loss. */
import type { NamedBlob } from '../lib/files';
import type { FlowContext } from './context';
import { errorText, readNamed } from './shared';

export async function loadVgg(ctx: FlowContext, files: NamedBlob[]): Promise<void> {
  const s = ctx.store.getState();
  try {
    const r = await ctx.runner.call('loadVgg', { files: await readNamed(files) }).done;
    s.vggLoaded(r);
    s.formChanged({ perceptual: 'loaded' });
    s.notify('success', `Perceptual network loaded: ${r.description}.`);
  } catch (e) {
    s.notify('error', `VGG weights not loaded: ${errorText(e)}`);
  }
}
