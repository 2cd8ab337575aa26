import { describe, expect, it } from 'vitest';
import { outputName, outputNames } from './output-names';

describe('output names', () => {
  it('keep folders, drop unsafe parts, and never collide (case-insensitively), in input order', () => {
    expect(outputNames(['p1/a.dcm', 'p1/a.png', 'A.PNG', '../x.jpg', 'noext', 'a.png', 'p1/A.dcm'])).toEqual([
      'p1/a.png', 'p1/a-2.png', 'A.png', 'x.png', 'noext.png', 'a-2.png', 'p1/A-3.png',
    ]);
  });
  it('one name per film: extension replaced, control and reserved characters replaced', () => {
    expect(outputName('dir\\sub/scan.2019.DCM')).toBe('dir/sub/scan.2019.png');
    expect(outputName('we<ird>:name?.png')).toBe('we_ird__name_.png');
    expect(outputName('')).toBe('image.png');
  });
});
