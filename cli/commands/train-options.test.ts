import { describe, expect, it } from 'vitest';
import { formatOptions, UsageError } from '../args';
import { parseScaleRange, runTrain, TRAIN_OPTIONS } from './train';

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

describe('train --augment-opacity / -marks / -effusion / -gamma / -crop', () => {
  it('refuses a probability outside [0, 1], a gamma range outside [0, 4] or a crop outside [0, 0.4], naming the option and value, and the usage shows the bounds', async () => {
    for (const [k, bad] of [['augment-opacity', '1.5'], ['augment-marks', '-0.2'], ['augment-effusion', '2'], ['augment-gamma', '-1'], ['augment-gamma', '9'], ['augment-crop', '0.5']]) {
      const run = runTrain(['--images', '/nonexistent', '--out', '/nonexistent', `--${k}`, bad]);
      await expect(run).rejects.toThrow(UsageError);
      await expect(run).rejects.toThrow(`--${k} ${Number(bad)}`);
    }
    // In range, the options pass and the run gets as far as the missing folder.
    const ok = await runTrain(['--images', '/nonexistent', '--out', '/nonexistent', '--augment-marks', '0.5', '--augment-gamma', '0.5', '--augment-effusion', '1', '--augment-crop', '0.15']).then(() => null, (e: unknown) => e);
    expect(ok).not.toBeInstanceOf(UsageError);
    expect(formatOptions(TRAIN_OPTIONS)).toMatch(/--augment-marks P\s+with probability P.*\(0 to 1; default: 0\)/);
  });
});
