// The Prometheus naming conventions raftsched's /metrics keeps, checked on the text a node serves, parsed by a real
// parser (parse-prometheus-text-format, a port of the Python client's parser; prom2json's output shape). What
// `promtool check metrics` lints, plus the house's own rules: one raftsched_tasks{state} family, units in names.
import parsePrometheusTextFormat, { type ParsedFamily } from "parse-prometheus-text-format";

/** Units a histogram's name may end in (the base unit, plural, as Prometheus asks). */
const HISTOGRAM_UNITS = ["_seconds", "_bytes"];
/** Non-base units Prometheus asks not to use in names. */
const NON_BASE_UNITS = /_(ms|millis|milliseconds|microseconds|us|ns|nanoseconds|minutes|hours|kilobytes|megabytes|kb|mb)(_|$)/;

export interface ConventionReport {
  readonly text: string;
  readonly families: readonly ParsedFamily[];
  readonly problems: readonly string[];
}

export function checkMetricConventions(text: string): ConventionReport {
  const families = parsePrometheusTextFormat(text);
  const problems: string[] = [];
  for (const f of families) {
    const name = f.name;
    if (!text.includes(`# HELP ${name} `) || f.help.trim() === "") problems.push(`${name}: no HELP`);
    if (!text.includes(`# TYPE ${name} `) || f.type === "UNTYPED") problems.push(`${name}: no TYPE`);
    if (f.type === "COUNTER" && !name.endsWith("_total")) problems.push(`${name}: a counter whose name does not end in _total`);
    if (f.type !== "COUNTER" && name.endsWith("_total")) problems.push(`${name}: a ${f.type.toLowerCase()} named _total (only counters are)`);
    if (f.type === "HISTOGRAM" && !HISTOGRAM_UNITS.some((u) => name.endsWith(u))) problems.push(`${name}: a histogram without a unit (${HISTOGRAM_UNITS.join(", ")})`);
    if (NON_BASE_UNITS.test(name)) problems.push(`${name}: a non-base unit in the name (use seconds, bytes)`);
    if (/^raftsched_tasks_(pending|assigned|completed|dead|cancelled)$/.test(name)) problems.push(`${name}: task counts belong to raftsched_tasks{state}`);
    // The parser folds a labelled histogram's series into one entry (a known limit of it): values are checked on
    // the sample lines instead.
    for (const v of sampleValues(text, name)) if (!isSampleValue(v)) problems.push(`${name}: a sample that is not a number (${v})`);
  }
  return { text, families, problems };
}

/** A float as the text format writes it: digits, or +Inf, -Inf, NaN. prom-client writes "Nan", which Prometheus
 *  reads (Go's ParseFloat takes any case), so the case of NaN is not held against it. */
function isSampleValue(v: string | undefined): boolean {
  return v !== undefined && (v === "+Inf" || v === "-Inf" || v.toLowerCase() === "nan" || Number.isFinite(Number(v)));
}

/** The family named `name`, or throws. */
export function family(report: ConventionReport, name: string): ParsedFamily {
  const f = report.families.find((x) => x.name === name);
  if (!f) throw new Error(`no metric family ${name}`);
  return f;
}

/** The values of the sample lines of family `name` (its _bucket, _sum and _count series too). */
function sampleValues(text: string, name: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!/^(_bucket|_sum|_count)?[{ ]/.test(rest)) continue;
    out.push(line.slice(line.lastIndexOf(" ") + 1));
  }
  return out;
}

/** A histogram family's total observation count over its label sets (its _count series, summed). */
export function histogramCount(report: ConventionReport, name: string): number {
  let sum = 0;
  for (const line of report.text.split("\n")) {
    if (line.startsWith(`${name}_count{`) || line.startsWith(`${name}_count `)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}
