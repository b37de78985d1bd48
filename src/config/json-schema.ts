import { z } from 'zod';
import { configSchema } from './schema.js';

/**
 * The JSON Schema of relay.yaml, generated from the same zod schema that validates it, so editors
 * complete and check the file (`# yaml-language-server: $schema=…` in the example config).
 * `npm run schema` writes it to docs/relay.schema.json.
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any', target: 'draft-7' }),
    $id: 'https://github.com/relay/relay/docs/relay.schema.json',
    title: 'Relay configuration (relay.yaml)',
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
}
