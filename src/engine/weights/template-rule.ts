import { decodeImage } from '../io/decode-image';
import { encodePng } from '../io/encode-png';
import type { GrayImage } from '../io/gray-image';
import { syntheticChest } from '../image/synthetic-chest';

export type TemplateOrigin = 'explicit' | 'model' | 'canonical' | 'generated';

export interface TemplateCandidates {
  /** A template the user named (--template, a file chosen in the Template panel, a mean crop). */
  explicit?: { name: string; bytes: Uint8Array };
  /** The model folder's template.png; bytes null when the folder has none. */
  model?: { name: string; bytes: Uint8Array | null };
  /** The shipped canonical chest (models/canonical-chest.png); bytes null when missing. */
  canonical?: { name: string; bytes: Uint8Array | null };
}

export interface ResolvedTemplate {
  image: GrayImage;
  origin: TemplateOrigin;
  /** The file it came from, or a description of the stand-in. */
  name: string;
  /** PNG bytes (what travels into a model folder as template.png). */
  bytes: Uint8Array;
  /** Candidates passed over and why (unreadable files). */
  notes: string[];
}

/**
 * The one rule for "which template": the one the user named; else the model
 * folder's own template.png (the template the weights were trained to match
 * travels with them); else the shipped canonical chest; else a generated
 * stand-in, so nothing fails for a missing file. A named template that cannot
 * be decoded is an error (the user asked for it); an unreadable folder or
 * shipped template is passed over with a note.
 */
export function resolveTemplate(c: TemplateCandidates): ResolvedTemplate {
  const notes: string[] = [];
  if (c.explicit) {
    return { image: decodeImage(c.explicit.bytes, c.explicit.name), origin: 'explicit', name: c.explicit.name, bytes: c.explicit.bytes, notes };
  }
  for (const [origin, cand] of [['model', c.model], ['canonical', c.canonical]] as const) {
    if (!cand?.bytes) continue;
    try {
      return { image: decodeImage(cand.bytes, cand.name), origin, name: cand.name, bytes: cand.bytes, notes };
    } catch (e) {
      notes.push(`${cand.name} could not be read (${(e as Error).message})`);
    }
  }
  const image = syntheticChest();
  return { image, origin: 'generated', name: 'generated stand-in chest', bytes: encodePng(image), notes };
}
