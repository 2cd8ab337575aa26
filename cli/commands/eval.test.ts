import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, sharedPath } from '../../src/testing/shared-data';
import { evalCommand } from './eval';

describe.skipIf(!HAS_SHARED)('cxr-align eval on real masked films (../shared/data/masked)', () => {
  it('scores identity and the model side by side and writes per-image CSVs', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cxr-eval-'));
    const rows = await evalCommand({
      data: sharedPath('data/masked'), refine: 0, perturb: 1, probes: true, elastix: false, limit: 6, out, seed: 1, quiet: true,
      frame: { width: 64, height: 80 }, log: () => {},
    });
    expect(rows.map((r) => r.aligner)[0]).toBe('identity (plain resize)');
    expect(rows.length).toBe(2);
    const [identity] = rows;
    expect(identity.images).toBe(6);
    expect(identity.diceUncut).toBeGreaterThan(0.4);
    expect(identity.diceUncut).toBeLessThan(1);
    // A plain resize never cuts lungs and never mirrors; it ignores perturbations, so its equivariance error is large.
    expect(identity.cutRate).toBe(0);
    expect(identity.mirroredRate).toBe(0);
    expect(identity.equivariancePx).toBeGreaterThan(2);
    const csv = readFileSync(join(out, 'per-image-0-identity-plain-resize-.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^file,aligner,dice_uncut/);
    expect(csv.length).toBe(7);
    // Pure probes: a plain resize follows no shift, so a 10% shift moves its frame by 10% of the frame.
    expect(rows.map((r) => r.probes?.length)).toEqual(rows.map(() => 8));
    const idShiftX = rows[0].probes!.find((p) => p.label === 'shift x +10%')!.px;
    expect(idShiftX).toBeCloseTo(0.1 * 64, 3);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary[1].probes).toHaveLength(8);
    // Content-preserving moves and the border effect, on by default; without --patients no same-patient Dice.
    expect(identity.contentPx).toBeGreaterThan(2);
    expect(identity.border.map((b) => b.scale)).toEqual([1.25, 1.5, 2]);
    expect(summary[0].samePatientDice).toBeNull();
  });

  it('reads patients from the manifest and adds the affine ceiling (an oracle) as a row', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cxr-eval-'));
    const rows = await evalCommand({
      data: sharedPath('data/masked'), refine: 0, perturb: 0, content: 0, border: [1.5], elastix: false, limit: 6, out, seed: 1, quiet: true,
      patients: sharedPath('data/manifest.csv'), ceiling: true, frame: { width: 64, height: 80 }, log: () => {},
    });
    expect(rows.map((r) => r.aligner)).toEqual(['identity (plain resize)', expect.stringMatching(/^model/), 'affine ceiling (oracle: fitted to the lung masks)']);
    const [identity, model, ceiling] = rows;
    // The first six films by name: two of one patient, three of another, one alone.
    expect(identity.samePatientPairs).toBe(4);
    expect(identity.samePatientPatients).toBe(2);
    expect(ceiling.oracle).toBe(true);
    expect(ceiling.diceUncut).toBeGreaterThan(Math.max(identity.diceUncut, model.diceUncut));
    expect(Number.isNaN(ceiling.border[0].px)).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary[2].oracle).toBe(true);
    expect(summary[2].samePatientPairs).toBe(4);
    // Each aligner's spread about the ceiling; a plain resize is further from it than the model on every film's scale.
    expect(ceiling.ceilingResidual).toBeUndefined();
    expect(model.ceilingResidual!.films).toBe(6);
    expect(identity.ceilingResidual!.scaleY + identity.ceilingResidual!.scaleX).toBeGreaterThan(model.ceilingResidual!.scaleY + model.ceilingResidual!.scaleX);
    expect(summary[1].ceilingResidual.films).toBe(6);
  });
});
