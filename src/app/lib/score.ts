/**
 * The gallery's alignment score: 1 − normalized cross-correlation between the
 * aligned film and the template, both at a small frame. Global NCC ignores
 * exposure and contrast differences between films, so a high value means the
 * anatomy is in the wrong place, which is what a user hunting for poor
 * alignments wants to see first. 0 = identical up to brightness/contrast, 2 = inverted.
 */
export function templateMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length || n === 0) throw new Error(`score: images differ in size (${a.length} vs ${b.length} values)`);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  // A blank image (all padding) has no correlation with anything: worst case short of inversion.
  if (saa < 1e-12 || sbb < 1e-12) return 1;
  return 1 - sab / Math.sqrt(saa * sbb);
}

/** Films whose score is worse than this are flagged for review. */
export const POOR_SCORE = 0.5;

export function scoreLabel(score: number | undefined): 'good' | 'fair' | 'poor' | 'pending' {
  if (score === undefined || !Number.isFinite(score)) return 'pending';
  if (score < 0.25) return 'good';
  if (score < POOR_SCORE) return 'fair';
  return 'poor';
}
