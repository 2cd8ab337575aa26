/**
 * Which picked or dropped files to send to the decoder. Folders from PACS
 * exports and macOS carry sidecar files (.DS_Store, DICOMDIR, thumbs) that are
 * not films; reporting each as "not an image" would bury the real errors, so
 * they are skipped and counted instead. Everything else goes to the decoder,
 * which judges by content, not by name.
 */
export function isSidecar(path: string): boolean {
  const base = path.split(/[\\/]/).pop() ?? path;
  if (base.startsWith('.')) return true;
  if (/^(DICOMDIR|Thumbs\.db|desktop\.ini|LOCKFILE|VERSION)$/i.test(base)) return true;
  return /\.(txt|json|csv|xml|html?|md|pdf|zip|log|ini)$/i.test(base);
}

export interface NamedBlob {
  name: string;
  blob: Blob;
}

export function splitSidecars<T extends NamedBlob>(files: readonly T[]): { films: T[]; skipped: string[] } {
  const films: T[] = [];
  const skipped: string[] = [];
  for (const f of files) {
    if (isSidecar(f.name)) skipped.push(f.name);
    else films.push(f);
  }
  return { films, skipped };
}
