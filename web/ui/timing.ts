/**
 * Where the time goes between choosing a file and seeing its report (issue 14): each phase is a
 * User Timing measure named "kimg: …" on the page's timeline, visible in the browser's
 * performance panel and read by the e2e test. The worker's phases arrive as wall-clock spans
 * (its clock starts elsewhere) and are put on the page's timeline here.
 */

/** A phase as the worker measured it: wall-clock milliseconds (timeOrigin + now). */
export interface Span {
  name: string;
  start: number;
  end: number;
}

/** Now, in wall-clock milliseconds, comparable between the page and its worker. */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

/** Records a phase on the page's timeline; start and end in wall-clock milliseconds. */
export function recordSpan(span: Span): void {
  const start = Math.max(0, span.start - performance.timeOrigin);
  const end = Math.max(start, span.end - performance.timeOrigin);
  performance.measure(`kimg: ${span.name}`, { start, end });
}

/** Forgets the previous file's phases. */
export function clearSpans(): void {
  for (const m of performance.getEntriesByType("measure")) if (m.name.startsWith("kimg: ")) performance.clearMeasures(m.name);
}
