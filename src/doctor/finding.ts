import type { DoctorFinding } from '../channel.js';

/** One line of `relay doctor` (channels produce them too, through `ChannelAdapter.doctor`). */
export type Finding = DoctorFinding;
export type Verdict = DoctorFinding['verdict'];

export const finding = (verdict: Verdict, check: string, message: string): Finding => ({
  verdict,
  check,
  message,
});

export function formatFinding(f: Finding): string {
  return `${f.verdict.padEnd(8)} ${f.check}: ${f.message}`;
}

/** Exit status: 1 when any check found a problem; warnings and skipped checks alone leave it 0. */
export const exitCodeOf = (findings: readonly Finding[]): number =>
  findings.some((f) => f.verdict === 'problem') ? 1 : 0;
