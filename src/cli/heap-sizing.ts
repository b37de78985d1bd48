/**
 * How `relay start` sizes V8's heap, measured in docs/performance.md (Memory):
 * - While the modules are compiled and the config is built, many objects survive each scavenge and
 *   V8 doubles its young generation up to 2 × 16 MiB, which a relay that has just started no longer
 *   uses (~20 MiB of idle RSS). bin/relay.js holds it at its initial size before it loads the CLI
 *   (the flag must be set before the module graph is parsed).
 * - Once ready, the young generation may grow again, up to 2 × 8 MiB (request garbage dies young
 *   at that size as it did at 16), and the old generation is collected when it has doubled since the
 *   last full collection instead of V8's up to fourfold: under the bench's load, peak RSS ~190 →
 *   ~130 MiB for no measurable CPU per request.
 * Flags set at run time: only those V8 reads at each collection (growth factors), never sizes V8
 * fixes when the heap is created.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** V8's default (node --v8-options): each growth doubles the semi-spaces. */
const defaultGrowthFactor = 2;
/** Both semi-spaces together, at most. */
const youngGenerationCap = 16 * 1024 * 1024;
const oldGenerationGrowingPercent = 100;

export function holdYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** Called once ready: young generation free to grow up to the cap, old generation collected at twice its live size. */
export function sizeHeapForTraffic(): void {
  setFlagsFromString(`--heap-growing-percent=${oldGenerationGrowingPercent}`);
  let growth = 0;
  const sizeYoung = () => {
    const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
    const next = young >= youngGenerationCap ? 1 : defaultGrowthFactor;
    if (next !== growth) {
      growth = next;
      setFlagsFromString(`--semi-space-growth-factor=${next}`);
    }
  };
  sizeYoung();
  // After each collection: the growth a scavenge decides applies at the next one, so the young
  // generation passes the cap by one doubling at most.
  new PerformanceObserver(sizeYoung).observe({ entryTypes: ['gc'] });
}
