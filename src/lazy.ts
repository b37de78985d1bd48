/**
 * Runs `load` on the first call and hands every call the same promise. For the heavy provider SDKs:
 * `const sdk = lazy(() => import('telegraf'))` keeps the package out of a relay that never uses it
 * (startup time and memory), while `import type` keeps its types.
 */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
}
