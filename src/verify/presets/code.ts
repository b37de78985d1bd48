import type { Preset } from './types.js';

/** Presets that need code rather than a row (Ed25519, ECDSA, form parameters, handshakes): one file each. */
export const codePresets: readonly Preset[] = [];
