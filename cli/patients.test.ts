import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPatients } from './patients';
import { UsageError } from './args';

describe('eval --patients', () => {
  it('maps a manifest\'s paths (relative to its folder) and bare names onto DATA/images/NAME', () => {
    const root = mkdtempSync(join(tmpdir(), 'cxr-patients-'));
    mkdirSync(join(root, 'data', 'masked', 'images'), { recursive: true });
    const csv = join(root, 'data', 'manifest.csv');
    writeFileSync(csv, [
      'file,view,patient',
      'cxr14/images/a.png,PA,1', // another data set in the same manifest: not a film of DATA
      'masked/images/a.png,PA,7',
      'masked/images/b.png,AP,7',
      '"masked/images/c, d.png",PA,9',
      'masked/lung_masks/e.png,PA,3',
      'f.png,PA,4',
      'masked/images/g.png,PA,',
    ].join('\n'));
    const r = readPatients({ csv, data: join(root, 'data', 'masked') });
    expect([...r.byName.entries()].sort()).toEqual([['a.png', '7'], ['b.png', '7'], ['c, d.png', '9'], ['f.png', '4']]);
    expect(r.rows).toBe(7);
    expect(r.unmatched).toBe(3);
    // The same CSV read from elsewhere matches nothing by path.
    expect(readPatients({ csv, data: join(root, 'other') }).byName.size).toBe(1);
    expect(() => readPatients({ csv, data: root, patientColumn: 'subject' })).toThrow(UsageError);
    expect(() => readPatients({ csv: join(root, 'missing.csv'), data: root })).toThrow(/no such file/);
  });
});
