/** Before a run: fresh e2e/artifacts/ (the screenshots) and e2e/.tmp/ (written films, downloads). */
import { mkdirSync, rmSync } from 'node:fs';
import { ART, TMP } from './helpers';

export default function globalSetup() {
  for (const dir of [TMP, ART]) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
}
