import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, readBytes, sharedPath } from '../../testing/shared-data';
import { decodeImage } from '../io/decode-image';
import { chestPolarityScore, INVERTED_BELOW, withDarkLungs } from './polarity';

describe.skipIf(!HAS_SHARED)('chest polarity check on real films', () => {
  it('leaves every correctly displayed film alone and catches its negative', () => {
    const dir = sharedPath('data/masked/images');
    for (const f of readdirSync(dir).sort().slice(0, 40)) {
      const img = decodeImage(readBytes(`${dir}/${f}`), f);
      expect(chestPolarityScore(img)).toBeGreaterThan(INVERTED_BELOW);
      const negative = { ...img, data: img.data.map((v) => 1 - v) };
      const fixed = withDarkLungs(negative);
      // A negative is only caught when the film has clear lung contrast; never flipped the wrong way.
      if (fixed.inverted) expect(chestPolarityScore(fixed.image)).toBeGreaterThan(0);
    }
  });
});
