/** The classic yardstick of `cxr-align bench`: Debian's elastix, affine, per film. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../model';
import { median } from './timing';

/** elastix affine (multi-resolution MI) per film, in seconds; null when elastix is not installed. */
export function runElastix(films: string[], template: string): { secondsPerImage: number; each: number[] } | { error: string } | null {
  const which = spawnSync('sh', ['-c', 'command -v elastix'], { encoding: 'utf8' });
  if (which.status !== 0) return null;
  const each: number[] = [];
  for (const f of films) {
    const out = mkdtempSync(join(tmpdir(), 'cxr-elastix-'));
    const t0 = performance.now();
    const r = spawnSync('elastix', ['-f', template, '-m', f, '-p', join(REPO_ROOT, 'bench/elastix-affine.txt'), '-out', out, '-threads', '2'], { encoding: 'utf8' });
    const s = (performance.now() - t0) / 1000;
    rmSync(out, { recursive: true, force: true });
    if (r.status !== 0) return { error: (r.stdout || r.stderr || '').trim().split('\n').slice(-2).join(' | ') };
    each.push(s);
  }
  return { secondsPerImage: median(each), each };
}
