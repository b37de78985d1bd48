import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { configJsonSchema } from './json-schema.js';

it('docs/relay.schema.json is generated from the current schema (run `npm run schema` after changing it)', () => {
  const committed = JSON.parse(
    readFileSync(new URL('../../docs/relay.schema.json', import.meta.url), 'utf8'),
  ) as unknown;
  expect(committed).toEqual(configJsonSchema());
});
