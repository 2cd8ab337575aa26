#!/usr/bin/env node
// Render a training log (JSONL with step and loss per line) as a PNG line chart
// for the model card: an SVG drawn here, rasterised by Debian's Chromium (the
// same browser the e2e tests use), so the text is real text, not hand-drawn.
// Usage: node scripts/plot-curve.mjs runs/x/log.jsonl models/default/training-curve.png [title]
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [logPath, outPath, title = 'Training loss'] = process.argv.slice(2);
if (!logPath || !outPath) {
  console.error('usage: node scripts/plot-curve.mjs LOG.jsonl OUT.png [title]');
  process.exit(2);
}
const rows = readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => Number.isFinite(r.loss));
const ema = [];
let m = rows[0]?.loss ?? 0;
for (const r of rows) { m = 0.95 * m + 0.05 * r.loss; ema.push(m); }
const W = 800, H = 420, L = 70, R = 20, T = 40, B = 50;
const xs = rows.map((r) => r.step);
const x0 = Math.min(...xs), x1 = Math.max(...xs);
const ys = rows.map((r) => r.loss);
// A loss whose spikes span decades (a heavily weighted term in one stage) is drawn on a log axis, so the rest stays readable.
const logY = Math.min(...ys) > 0 && Math.max(...ys) / Math.min(...ys) > 20;
const f = logY ? Math.log10 : (v) => v;
const y0 = f(Math.min(...ys)), y1 = f(Math.max(...ys));
const sx = (v) => L + ((v - x0) / Math.max(1e-9, x1 - x0)) * (W - L - R);
const sy = (v) => T + (1 - (f(v) - y0) / Math.max(1e-9, y1 - y0)) * (H - T - B);
const path = (vals) => vals.map((v, i) => `${i ? 'L' : 'M'}${sx(xs[i]).toFixed(1)},${sy(v).toFixed(1)}`).join('');
const ticks = (a, b, n) => Array.from({ length: n + 1 }, (_, i) => a + ((b - a) * i) / n);
const yTicks = ticks(y0, y1, 5).map((v) => (logY ? 10 ** v : v));
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">${title}</text>
${yTicks.map((v) => `<line x1="${L}" x2="${W - R}" y1="${sy(v)}" y2="${sy(v)}" stroke="#e5e5e5"/><text x="${L - 6}" y="${sy(v) + 4}" text-anchor="end" fill="#444">${logY ? v.toPrecision(2) : v.toFixed(3)}</text>`).join('')}
${ticks(x0, x1, 6).map((v) => `<text x="${sx(v)}" y="${H - B + 18}" text-anchor="middle" fill="#444">${Math.round(v)}</text>`).join('')}
<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">step</text>
<text transform="translate(16,${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${logY ? 'loss (log scale)' : 'loss'}</text>
<path d="${path(ys)}" fill="none" stroke="#9ec5f0" stroke-width="1"/>
<path d="${path(ema)}" fill="none" stroke="#1f5fa8" stroke-width="2.2"/>
<text x="${W - R - 170}" y="${T + 14}" fill="#1f5fa8">— moving average (0.95)</text>
<text x="${W - R - 170}" y="${T + 30}" fill="#7aa9d8">— per step</text>
</svg>`;
const dir = mkdtempSync(join(tmpdir(), 'cxr-plot-'));
const browser = await chromium.launchPersistentContext(dir, {
  executablePath: '/usr/bin/chromium',
  viewport: { width: W, height: H },
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
  writeFileSync(outPath, await page.screenshot({ clip: { x: 0, y: 0, width: W, height: H } }));
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`wrote ${outPath} (${rows.length} steps)`);
