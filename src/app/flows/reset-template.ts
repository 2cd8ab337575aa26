/** Back to the shipped canonical chest. */
import type { FlowContext } from './context';
import { changeTemplate } from './template';

export async function resetTemplate(ctx: FlowContext): Promise<void> {
  await changeTemplate(ctx, { from: 'shipped' }, 'Back to the shipped canonical chest.');
}
