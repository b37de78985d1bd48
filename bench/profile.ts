/** Self time per frame from a V8 .cpuprofile, cropped to the measured load, for `--profile`. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { root } from './servers.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Frame {
  readonly name: string;
  readonly where: string;
  readonly pct: number;
}

export interface ProfileSummary {
  /** Sampled time inside the measured window (or the whole profile when the window could not be found). */
  readonly totalMs: number;
  readonly window: 'measured load only' | 'whole profile';
  /** Self time per function. */
  readonly frames: Frame[];
  /** Self time per owner of the frame itself (package, node core module, relay code, VM). */
  readonly owners: Frame[];
  /**
   * Each sample charged to the nearest npm package or relay frame on its stack: native socket
   * writes called by pino count for pino, node:http parsing called by nobody counts for node:http.
   */
  readonly attributed: Frame[];
}

function shortUrl(url: string): string {
  const u = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = u.lastIndexOf('/node_modules/');
  if (nm !== -1) return u.slice(nm + '/node_modules/'.length);
  if (u.startsWith(root)) return u.slice(root.length);
  return u;
}

/** Who owns a frame: an npm package, the relay's own code, node core, or the VM. */
function owner(frame: CallFrame): string {
  const u = frame.url;
  if (u === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const nm = u.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const parts = u.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? u);
  }
  if (u.startsWith('node:')) {
    const mod = u.slice('node:'.length).replace(/^internal\//, '');
    const first = mod.split('/')[0] ?? mod;
    return `node:${first.replace(/^_/, '').replace(/_.*$/, '')}`;
  }
  if (u.includes('/dist/')) return 'relay';
  return shortUrl(u);
}

const isOwnerCode = (o: string) => o === 'relay' || !(o.startsWith('node:') || o.startsWith('('));

/**
 * Self time per frame from a .cpuprofile, cropped to [fromUs, toUs] when given: V8's profile
 * timestamps and the driver's process.hrtime are both CLOCK_MONOTONIC on Linux, so the measured
 * load window can be cut out of a profile that also holds start-up, warm-up and shutdown.
 */
export function summarizeProfile(file: string, top: number, fromUs?: number, toUs?: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const ownerOf = new Map<number, string>();
  const charged = new Map<number, string>();
  const chargeOf = (id: number): string => {
    const known = charged.get(id);
    if (known !== undefined) return known;
    let cur: number | undefined = id;
    let found: string | undefined;
    while (cur !== undefined) {
      const node = byId.get(cur);
      if (!node) break;
      const o = ownerOf.get(cur) ?? owner(node.callFrame);
      ownerOf.set(cur, o);
      if (isOwnerCode(o)) {
        found = o;
        break;
      }
      cur = parent.get(cur);
    }
    const frame = byId.get(id);
    const result = found ?? (frame ? owner(frame.callFrame) : '?');
    charged.set(id, result);
    return result;
  };

  const tally = (window: boolean) => {
    const self = new Map<string, { name: string; where: string; us: number }>();
    const owners = new Map<string, number>();
    const attributed = new Map<string, number>();
    let total = 0;
    let t = profile.startTime;
    profile.samples.forEach((id, i) => {
      t += profile.timeDeltas[i] ?? 0;
      if (window && fromUs !== undefined && toUs !== undefined && (t < fromUs || t > toUs)) return;
      // The delta before the next sample is the time spent in this one.
      const us = profile.timeDeltas[i + 1] ?? 0;
      const node = byId.get(id);
      if (!node || us <= 0) return;
      const frame = node.callFrame;
      total += us;
      const name = frame.functionName || '(anonymous)';
      const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
      const key = `${name}\u0000${where}`;
      const entry = self.get(key) ?? { name, where, us: 0 };
      entry.us += us;
      self.set(key, entry);
      const o = owner(frame);
      owners.set(o, (owners.get(o) ?? 0) + us);
      const c = chargeOf(id);
      attributed.set(c, (attributed.get(c) ?? 0) + us);
    });
    return { self, owners, attributed, total };
  };

  let window: ProfileSummary['window'] = 'measured load only';
  let t = fromUs !== undefined ? tally(true) : undefined;
  if (!t || t.total < 100_000) {
    window = 'whole profile';
    t = tally(false);
  }
  const { total } = t;
  const pct = (us: number) => (total > 0 ? (100 * us) / total : 0);
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, where: '', pct: pct(us) }));
  return {
    totalMs: total / 1000,
    window,
    frames: [...t.self.values()]
      .sort((x, y) => y.us - x.us)
      .slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, pct: pct(e.us) })),
    owners: rank(t.owners),
    attributed: rank(t.attributed),
  };
}
