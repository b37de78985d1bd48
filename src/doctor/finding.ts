/** One line of `relay doctor`: a verdict, what was checked, and (unless ok) what to do. */
export type Verdict = 'ok' | 'warning' | 'problem' | 'skipped';

export interface Finding {
  readonly verdict: Verdict;
  /** What was checked: `redis`, `telegram/support registration`, `rejections webhook/shop/orders`. */
  readonly check: string;
  readonly message: string;
}

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
