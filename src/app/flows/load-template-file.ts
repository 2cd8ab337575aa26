/** A template image from a file (PNG, JPEG or DICOM). */
import type { NamedBlob } from '../lib/files';
import type { FlowContext } from './context';
import { changeTemplate } from './template';

export async function loadTemplateFile(ctx: FlowContext, file: NamedBlob): Promise<void> {
  const bytes = new Uint8Array(await file.blob.arrayBuffer());
  await changeTemplate(ctx, { from: 'file', name: file.name, bytes }, `Template loaded from ${file.name}.`);
}
