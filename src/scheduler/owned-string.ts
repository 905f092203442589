// Strings the table keeps for as long as a task lives, copied out of the command they came in.
//
// msgpackr's native string extraction decodes a run of short strings of an entry as one string and hands out
// slices of it: a task id taken from a submit command is a V8 "sliced string" that keeps the whole entry's text
// alive (type, field names, the payload's strings) for the life of the task. Seen in a heap snapshot of a
// 20,000-task table built through the wire form: ~29,000 sliced strings. A flat copy costs one small allocation
// at apply time and lets the entry's text go.

/** Characters copied per String.fromCharCode call (its arguments go on the stack). */
const CHUNK = 4096;

/** A copy of `s` made of fresh strings only, holding no reference to any larger string. Same characters. */
export function ownedString(s: string): string {
  let out = "";
  for (let at = 0; at < s.length; at += CHUNK) {
    const end = Math.min(s.length, at + CHUNK);
    const codes = new Array<number>(end - at);
    for (let i = at; i < end; i++) codes[i - at] = s.charCodeAt(i);
    out += String.fromCharCode(...codes);
  }
  return out;
}
