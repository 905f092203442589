// Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC, for recurring
// schedules (schedules.ts). Our own small parser rather than a dependency: the whole grammar is ~100 lines and its
// answers are checked against known tables (test/unit/scheduler/cron.test.ts).
//
// Grammar per field: `*`, `n`, `a-b`, any of those with `/step`, and comma lists of them; months also take
// jan..dec, days of week sun..sat (0 and 7 are both Sunday). Macros: @yearly @annually @monthly @weekly @daily
// @midnight @hourly. As in Vixie cron, when both day fields are restricted a day matches if EITHER matches; a day
// field that starts with `*` counts as unrestricted.

export interface CronSpec {
  readonly minutes: readonly boolean[];
  readonly hours: readonly boolean[];
  readonly daysOfMonth: readonly boolean[];
  readonly months: readonly boolean[];
  readonly daysOfWeek: readonly boolean[];
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CronError";
  }
}

const MINUTE_MS = 60_000;
/** How far next/prev look: eight years covers every leap-day rule short of a century year. */
export const CRON_HORIZON_MS = 8 * 366 * 24 * 3600 * 1000;

const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface FieldShape {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** The first name's value (months start at 1). */
  readonly namesFrom?: number;
}

const FIELDS: readonly FieldShape[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTH_NAMES, namesFrom: 1 },
  { name: "day of week", min: 0, max: 7, names: DAY_NAMES, namesFrom: 0 },
];

/** Parses an expression; throws CronError saying which field is wrong. */
export function parseCron(expression: string): CronSpec {
  if (typeof expression !== "string" || expression.length > 200) throw new CronError("must be a string of at most 200 characters");
  const text = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new CronError(`must have 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const sets = parts.map((part, i) => parseField(part, FIELDS[i]!));
  const dow = sets[4]!;
  if (dow[7]) dow[0] = true; // 7 is Sunday too
  return {
    minutes: sets[0]!,
    hours: sets[1]!,
    daysOfMonth: sets[2]!,
    months: sets[3]!,
    daysOfWeek: dow.slice(0, 7),
    domRestricted: !parts[2]!.startsWith("*"),
    dowRestricted: !parts[4]!.startsWith("*"),
  };
}

function parseField(text: string, shape: FieldShape): boolean[] {
  const set = new Array<boolean>(shape.max + 1).fill(false);
  for (const item of text.split(",")) {
    const [range, stepText, extra] = item.split("/");
    if (extra !== undefined || range === undefined || range === "") throw fieldError(shape, text);
    const step = stepText === undefined ? 1 : number(stepText, shape, text);
    if (step < 1) throw fieldError(shape, text);
    let lo: number;
    let hi: number;
    if (range === "*") {
      lo = shape.min;
      hi = shape.name === "day of week" ? 6 : shape.max;
    } else {
      const [a, b, more] = range.split("-");
      if (more !== undefined) throw fieldError(shape, text);
      lo = value(a!, shape, text);
      // `a/step` runs from a to the field's end, as in Vixie cron.
      hi = b !== undefined ? value(b, shape, text) : stepText !== undefined ? shape.max : lo;
    }
    if (lo > hi) throw new CronError(`${shape.name} field "${text}": range ${lo}-${hi} runs backwards`);
    for (let v = lo; v <= hi; v += step) set[v] = true;
  }
  return set;
}

function value(text: string, shape: FieldShape, whole: string): number {
  const named = shape.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + (shape.namesFrom ?? 0);
  const v = number(text, shape, whole);
  if (v < shape.min || v > shape.max) throw new CronError(`${shape.name} field "${whole}": ${v} is outside ${shape.min}-${shape.max}`);
  return v;
}

function number(text: string, shape: FieldShape, whole: string): number {
  if (!/^\d{1,2}$/.test(text)) throw fieldError(shape, whole);
  return Number(text);
}

function fieldError(shape: FieldShape, text: string): CronError {
  return new CronError(`${shape.name} field "${text}" is not valid cron syntax`);
}

function dayMatches(spec: CronSpec, d: Date): boolean {
  const dom = spec.daysOfMonth[d.getUTCDate()]!;
  const dow = spec.daysOfWeek[d.getUTCDay()]!;
  if (spec.domRestricted && spec.dowRestricted) return dom || dow;
  return dom && dow;
}

/** The first matching minute strictly after `afterMs` (UTC), or null when none within CRON_HORIZON_MS. */
export function cronNext(spec: CronSpec, afterMs: number): number | null {
  let t = Math.floor(afterMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const limit = afterMs + CRON_HORIZON_MS;
  while (t <= limit) {
    const d = new Date(t);
    if (!spec.months[d.getUTCMonth() + 1]) t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    else if (!dayMatches(spec, d)) t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
    else if (!spec.hours[d.getUTCHours()]) t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
    else if (!spec.minutes[d.getUTCMinutes()]) t += MINUTE_MS;
    else return t;
  }
  return null;
}

/** The last matching minute at or before `atMs` (UTC), or null when none within CRON_HORIZON_MS. */
export function cronPrev(spec: CronSpec, atMs: number): number | null {
  let t = Math.floor(atMs / MINUTE_MS) * MINUTE_MS;
  const limit = atMs - CRON_HORIZON_MS;
  while (t >= limit) {
    const d = new Date(t);
    if (!spec.months[d.getUTCMonth() + 1]) t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - MINUTE_MS;
    else if (!dayMatches(spec, d)) t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - MINUTE_MS;
    else if (!spec.hours[d.getUTCHours()]) t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours()) - MINUTE_MS;
    else if (!spec.minutes[d.getUTCMinutes()]) t -= MINUTE_MS;
    else return t;
  }
  return null;
}
