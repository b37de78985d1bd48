import { expect, it } from 'vitest';

// The file cannot even be loaded (a module it needs is not there): none of its tests are collected.
const missing = './a-module-that-is-not-there.js';
await import(missing);

it('never collected', () => expect(true).toBe(true));
