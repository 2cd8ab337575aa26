#!/usr/bin/env node
// Launches the TypeScript CLI (cli/main.ts) through tsx's loader, so the
// command runs from the sources without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
