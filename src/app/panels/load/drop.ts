import type { NamedBlob } from '../../lib/files';

/**
 * Files from a drop, folders walked recursively. Entries must be taken from
 * the DataTransfer synchronously (it is emptied after the event), then read.
 */
export async function filesFromDrop(dt: DataTransfer): Promise<NamedBlob[]> {
  const entries = Array.from(dt.items ?? [])
    .map((it) => (it.kind === 'file' ? it.webkitGetAsEntry?.() ?? null : null));
  if (entries.length === 0 || entries.every((e) => e === null)) {
    return Array.from(dt.files).map((f) => ({ name: f.name, blob: f }));
  }
  const out: NamedBlob[] = [];
  for (const e of entries) if (e) await walk(e, '', out);
  return out;
}

async function walk(entry: FileSystemEntry, prefix: string, out: NamedBlob[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ name: prefix + file.name, blob: file });
    return;
  }
  if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries returns at most ~100 entries per call: read until empty.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) break;
      for (const child of batch) await walk(child, `${prefix}${entry.name}/`, out);
    }
  }
}

/** Picked files keep their folder path (webkitRelativePath) so exports mirror the folder. */
export function namedFiles(files: File[]): NamedBlob[] {
  return files.map((f) => ({ name: f.webkitRelativePath || f.name, blob: f }));
}
