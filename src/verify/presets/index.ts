import { codePresets } from './code.js';
import { hmacPresets } from './rows.js';
import type { Preset } from './types.js';

export type { Preset, PresetCredentials, PresetInput, PresetVerdict } from './types.js';

/** Every sender preset by `auth.scheme` name. A code preset replaces a row of the same name. */
export const presets: ReadonlyMap<string, Preset> = new Map(
  [...hmacPresets, ...codePresets].map((p) => [p.name, p]),
);

export const presetNames: readonly string[] = [...presets.keys()].sort();

export function presetOf(name: string): Preset | undefined {
  return presets.get(name);
}
