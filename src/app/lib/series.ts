/** Loss-curve helpers for the fine-tune panel (kept DOM-free so they are unit-tested). */

export interface LossPoint {
  step: number;
  loss: number;
  parts: Record<string, number>;
}

export interface ChartRow {
  step: number;
  [series: string]: number;
}

/**
 * Exponential moving average with bias correction (as TensorBoard's smoothing
 * does), so the first points are not dragged toward zero.
 */
export function ema(values: readonly number[], weight: number): number[] {
  const out: number[] = [];
  let acc = 0;
  let norm = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) { out.push(out.length ? out[out.length - 1] : NaN); continue; }
    acc = acc * weight + (1 - weight) * v;
    norm = norm * weight + (1 - weight);
    out.push(acc / norm);
  }
  return out;
}

/**
 * Chart rows: each series raw and smoothed. Long runs are thinned to at most
 * `maxRows` evenly spaced rows (always keeping the last) so the SVG chart stays
 * fast; smoothing is done before thinning so it is not distorted.
 */
export function chartRows(points: readonly LossPoint[], smoothing: number, maxRows = 400): { rows: ChartRow[]; series: string[] } {
  const partNames = [...new Set(points.flatMap((p) => Object.keys(p.parts)))];
  // A single-part loss's part is the total: plot it once.
  const parts = partNames.length > 1 ? partNames : [];
  const series = ['total', ...parts];
  const raw: Record<string, number[]> = { total: points.map((p) => p.loss) };
  for (const n of parts) raw[n] = points.map((p) => p.parts[n] ?? NaN);
  const smooth: Record<string, number[]> = {};
  for (const s of series) smooth[s] = ema(raw[s], smoothing);
  const stride = Math.max(1, Math.ceil(points.length / maxRows));
  const rows: ChartRow[] = [];
  for (let i = 0; i < points.length; i++) {
    if (i % stride !== 0 && i !== points.length - 1) continue;
    const row: ChartRow = { step: points[i].step + 1 };
    for (const s of series) {
      row[s] = raw[s][i];
      row[`${s}_smooth`] = smooth[s][i];
    }
    rows.push(row);
  }
  return { rows, series };
}

/** Steps per second over the last `window` steps (wall clock, so pauses are excluded by the caller). */
export function stepsPerSecond(times: readonly number[], window = 20): number {
  if (times.length < 2) return 0;
  const recent = times.slice(-window - 1);
  const dt = recent[recent.length - 1] - recent[0];
  return dt > 0 ? ((recent.length - 1) * 1000) / dt : 0;
}

export function etaSeconds(done: number, total: number, rate: number): number | null {
  if (rate <= 0 || done >= total) return done >= total ? 0 : null;
  return (total - done) / rate;
}
