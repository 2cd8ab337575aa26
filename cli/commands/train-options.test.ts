import { describe, expect, it } from 'vitest';
import { UsageError } from '../args';
import { parseScaleRange, runTrain } from './train';

describe('train --scale-range', () => {
  it('reads LO,HI around 1 and refuses anything else with a usage error naming the value', () => {
    expect(parseScaleRange(undefined)).toBeUndefined();
    expect(parseScaleRange('0.4,1.5')).toEqual([0.4, 1.5]);
    for (const bad of ['0.4', '0.4,0.9', '1.2,1.5', '0,1.5', 'a,b', '0.4,1.5,2']) {
      expect(() => parseScaleRange(bad)).toThrow(UsageError);
      expect(() => parseScaleRange(bad)).toThrow(bad);
    }
  });
});

describe('train --off-lungs', () => {
  it('refuses a weight outside [0, 1] with a usage error before touching any film', async () => {
    for (const bad of ['-0.1', '1.5']) {
      await expect(runTrain(['--images', '/nonexistent', '--out', '/nonexistent', '--off-lungs', bad])).rejects.toThrow(UsageError);
      await expect(runTrain(['--images', '/nonexistent', '--out', '/nonexistent', '--off-lungs', bad])).rejects.toThrow(`--off-lungs ${Number(bad)}`);
    }
  });
});
