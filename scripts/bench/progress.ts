// Progress lines on stderr: rewritten in place on a terminal, one line every few seconds otherwise (CI logs).
const tty = process.stderr.isTTY === true;
let lastPlainMs = 0;

export function progress(text: string): void {
  if (tty) {
    process.stderr.write(`\r\x1b[K${text}`);
    return;
  }
  const t = Date.now();
  if (t - lastPlainMs >= 2000) {
    lastPlainMs = t;
    process.stderr.write(`${text}\n`);
  }
}

export function progressDone(text: string): void {
  if (tty) process.stderr.write("\r\x1b[K");
  process.stderr.write(`${text}\n`);
  lastPlainMs = 0;
}
