import type { TrainPreset } from '../../worker/protocol';

/**
 * What the Fine-tune panel says about each recipe (engine PRESETS), with what
 * fine-tuning the shipped model on the 112 masked films measured
 * (models/README.md, "Fine-tuning in the workbench").
 */
export const PRESET_TEXT: Record<TrainPreset, { label: string; title: string; note: string }> = {
  adapt: {
    label: 'Adapt to my films',
    title: "the shipped model's own recipe: refine the current model's frames on your films (the teacher), then train to reproduce them, with self-consistency and border bands, beside local NCC",
    note: 'First refines the current model\'s frame on each film (50 steps of windowed NCC: the "teacher"), then trains the network to reproduce those frames, to give one frame for a film under two augmentations, and to ignore black borders — the recipe the shipped model was trained with. '
      + 'Measured on 112 films (300 steps from the shipped model): lung overlap 0.861 → 0.864, same patient 0.889 → 0.895, frames steadier under small moves (4.1 → 3.3 px); '
      + 'but films with wide black borders move the frame more than before (10.6 → 12.9 px in a canvas 1.5x the film). Check those in the gallery ("Doubtful first").',
  },
  similarity: {
    label: 'Template similarity',
    title: 'only the similarity of each aligned film to the template (local NCC, or the seed paper\'s perceptual + λ·pixel)',
    note: 'Trains on the similarity to the template alone. Measured on 112 films (300 steps from the shipped model): lung overlap 0.861 → 0.874, '
      + 'but frames less steady: 4.1 → 5.8 px under small moves, 10.6 → 17.1 px with wide black borders (canvas 1.5x the film). Prefer "Adapt to my films" unless overlap alone matters.',
  },
};
