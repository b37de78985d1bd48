/**
 * V8 grows its young generation (two semi-spaces, up to 2 × 16 MiB) while many objects survive a
 * scavenge, as they do while the modules are compiled and the config is built: a relay that had
 * just started held ~20 MiB of young generation it no longer used (docs/performance.md, Memory).
 * bin/relay.js holds the semi-spaces at their initial size before it loads the CLI (the flag must
 * be set before the module graph is parsed), and `relay start` releases them once ready, so that
 * request traffic sizes them as before.
 */
import { setFlagsFromString } from 'node:v8';

/** V8's default (node --v8-options): each growth doubles the semi-spaces. */
const defaultGrowthFactor = 2;

export function holdYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

export function releaseYoungGeneration(): void {
  setFlagsFromString(`--semi-space-growth-factor=${defaultGrowthFactor}`);
}
