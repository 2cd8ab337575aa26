/**
 * The cxr-align command line: `cxr-align <command> [options]`.
 * Run with `npx cxr-align …` (bin/cxr-align.mjs) or `npm run cli -- …`.
 */
import { register } from 'node:module';

// The engine imports tfjs-core's ES-module build, whose extensionless imports
// Node cannot resolve by itself (see node-hooks.mjs). The hook must be in
// place before the engine is loaded, hence the dynamic import below.
register('./node-hooks.mjs', import.meta.url);

const { run } = await import('./run.ts');
process.exitCode = await run(process.argv.slice(2));
