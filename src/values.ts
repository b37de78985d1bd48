/**
 * Readers for provider JSON whose shape is not guaranteed: each gives the value only when it is
 * there and of the expected kind, so normalizers never throw on a field a provider left out.
 */
export type JsonObject = Record<string, unknown>;

/** A JSON object (not null, not an array). */
export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The value if it is a JSON object, else undefined. */
export const objectOrUndefined = (value: unknown): JsonObject | undefined =>
  isObject(value) ? value : undefined;

/** The value if it is a non-empty string, else undefined. */
export const nonEmptyString = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;
