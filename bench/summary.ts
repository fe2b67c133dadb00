/**
 * What a bench reports to `npm run bench` (bench/run-all.ts): its headline figures, each with the baseline measured
 * in the same run, their ratio and the goal. A bench run on its own (no BENCH_SUMMARY_FILE) writes nothing.
 */
import { appendFileSync } from 'node:fs';

export interface Figure {
  /** What is measured, e.g. "HTTP transitions/s (peak)". */
  name: string;
  value: number;
  unit: string;
  /** The same run's baseline: what the figure is compared with. */
  baseline?: { name: string; value: number };
  /** The goal, as a person reads it ("≥ 60 % of pgbench"). */
  goal: string;
  met: boolean;
}

export function reportFigures(bench: string, figures: Figure[]): void {
  const file = process.env['BENCH_SUMMARY_FILE'];
  if (file === undefined || file === '') return;
  for (const figure of figures) appendFileSync(file, `${JSON.stringify({ bench, ...figure })}\n`);
}
