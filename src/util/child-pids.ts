// Every child process this process started and has not seen exit. If this process exits without its normal
// cleanup (an uncaught error, a test runner tearing down), the exit hook SIGKILLs what is left, so no node
// outlives the tool or test that started it.
const livePids = new Set<number>();
let hookInstalled = false;

function installHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on("exit", () => {
    for (const pid of livePids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

export function trackChildPid(pid: number): void {
  installHook();
  livePids.add(pid);
}

export function untrackChildPid(pid: number): void {
  livePids.delete(pid);
}
