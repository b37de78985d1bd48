import { readFileSync } from 'node:fs';

/**
 * The relay's version from its package.json, found from here up (this file runs as src/version.ts
 * under the test runner and as dist/src/version.js when built).
 */
function readVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'relay' && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

export const relayVersion = readVersion();

/** What the relay says it is when it calls out (destinations, `relay listen`). */
export const relayUserAgent = `Relay/${relayVersion}`;
