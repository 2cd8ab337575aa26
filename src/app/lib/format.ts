export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** The five parameters as a user reads them: θ in degrees. */
export function describeParams(p: readonly number[]): { label: string; value: string; title: string }[] {
  const [tx, ty, sx, sy, th] = p;
  return [
    { label: 'tx', value: tx.toFixed(3), title: 'horizontal shift (normalized units; +1 = half the image width, to the right)' },
    { label: 'ty', value: ty.toFixed(3), title: 'vertical shift (normalized units; +1 = half the image height, down)' },
    { label: 'sx', value: sx.toFixed(3), title: 'horizontal scale (< 1 zooms in)' },
    { label: 'sy', value: sy.toFixed(3), title: 'vertical scale (< 1 zooms in)' },
    { label: 'θ', value: `${((th * 180) / Math.PI).toFixed(2)}°`, title: 'rotation (positive turns the sampled region clockwise on screen)' },
  ];
}

/** Short elapsed time for status lines: "840 ms", "3.2 s", "2m 05s". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatDuration(ms / 1000);
}
