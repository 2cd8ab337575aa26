/**
 * The cxr-align command line: `cxr-align <command> [options]`.
 * Run with `npx cxr-align …` (bin/cxr-align.mjs) or `npm run cli -- …`.
 */
import { run } from './run.ts';

process.exitCode = await run(process.argv.slice(2));
