import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The host reaches channels only through the registry (channels/index.ts): deleting a channel's
 * folder and its line there must leave src/ compiling. What a channel needs of the host is an
 * optional member of the contract (src/channel.ts), never an import the other way round.
 */
const src = new URL('../src/', import.meta.url);
const hostFiles = (readdirSync(src, { recursive: true }) as string[]).filter(
  (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
);
const intoChannel = /from '(?:\.\.\/)+channels\/[a-z-]+\//m;

describe('src/ imports channels only through channels/index.ts', () => {
  it('no host file imports a channel module directly', () => {
    expect(hostFiles.length).toBeGreaterThan(50);
    const offenders = hostFiles.filter((file) => intoChannel.test(readFileSync(new URL(file, src), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
