import type { TrainPreset } from '../../worker/protocol';

/**
 * What the Fine-tune panel says about each recipe (engine PRESETS), with what
 * fine-tuning the shipped model on the 112 masked films measured
 * (models/README.md, "Fine-tuning in the workbench").
 */
export const PRESET_TEXT: Record<TrainPreset, { label: string; title: string; note: string }> = {
  adapt: {
    label: 'Adapt to my films',
    title: "the recipe of the shipped model's stage 4: refine the current model's frames on your films (the teacher), then train to reproduce them, with self-consistency and border bands, beside local NCC",
    note: 'First refines the current model\'s frame on each film (50 steps of windowed NCC: the "teacher"), then trains the network to reproduce those frames, to give one frame for a film under two augmentations, and to ignore black borders — the recipe of the shipped model\'s stage 4. '
      + 'Measured on 112 films (300 steps from the shipped model): lung overlap 0.878 → 0.878, same patient 0.901 → 0.902, frames steadier under small moves (4.9 → 3.1 px) '
      + 'and when the film moves inside a black canvas (2.8 → 2.2 px); black around a film still does not move the frame (0.3 px).',
  },
  similarity: {
    label: 'Template similarity',
    title: 'only the similarity of each aligned film to the template (local NCC, or the seed paper\'s perceptual + λ·pixel)',
    note: 'Trains on the similarity to the template alone, with the shipped model\'s own augmentation (white patches and bright marks over the chest). Measured on 112 films (300 steps from the shipped model): lung overlap 0.878 → 0.876, same patient 0.901 → 0.898, '
      + 'and frames about as steady: 4.9 px under small moves before and after, 2.8 → 2.9 px when the film moves inside a black canvas. Prefer "Adapt to my films".',
  },
};
