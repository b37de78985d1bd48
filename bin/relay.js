#!/usr/bin/env node
// The compiled CLI. `npm ci` builds dist/ through the `prepare` script.
// The young generation is held small before the CLI's modules are parsed (heap-sizing.ts).
import { holdYoungGeneration } from '../dist/src/cli/heap-sizing.js';

holdYoungGeneration();
await import('../dist/src/cli/main.js');
