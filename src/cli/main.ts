// The `raftsched` command: one entry, one subcommand per job. Every failure ends in one clear line and a
// non-zero exit code.
import { errorCode, errorMessage } from "../util/errors.js";
import { startCommand } from "./start.js";
import { upCommand } from "./up.js";
import { statusCommand } from "./status.js";
import { chaosCommand } from "./chaos.js";
import { memberCommand, transferLeaderCommand } from "./member.js";
import { snapshotCommand } from "./snapshot.js";
import { taskCommand } from "./task.js";
import { workerCommand } from "./worker.js";

const USAGE = `raftsched — a replicated task scheduler on Raft

usage:
  raftsched start --config <cluster-file> --id <nodeId> [--data-dir <dir>] [--join] [--pretty]
  raftsched up [--config <cluster-file>] [--data-dir <dir>] [--demo]
  raftsched status [--config <cluster-file>] [--json]
  raftsched chaos [--config <cluster-file>] [--duration 60s] [--faults kill-leader,kill-random,pause,partition,isolate-leader,restart] [--seed N] [--report <dir>] [--clients 8] [--workers N] [--netns]
  raftsched member list|add <id> [<url>] [--role voter|learner] [--capacity N]|remove <id> [--config <cluster-file>]
  raftsched transfer-leader [--to <id>] [--config <cluster-file>]
  raftsched snapshot save <file> [--config <cluster-file>]
  raftsched snapshot restore <file> --config <cluster-file> --id <id> --data-dir <dir>
  raftsched task submit|get|list|cancel|retry|delete|wait|watch ... [--config <cluster-file>] [--json]   (raftsched task help)
  raftsched worker --config <cluster-file> --id <workerId> [--capacity N] [--tags a,b] [--handler <module>] [--drain-grace 30s]
`;

type Command = (argv: readonly string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  start: startCommand,
  up: upCommand,
  status: statusCommand,
  chaos: chaosCommand,
  member: memberCommand,
  "transfer-leader": transferLeaderCommand,
  snapshot: snapshotCommand,
  task: taskCommand,
  worker: workerCommand,
};

/** A closed stdout (`raftsched start | head`) must not crash a node: logs are best effort, the node is not. */
function ignoreClosedStdout(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
    });
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  ignoreClosedStdout();
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`raftsched: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  try {
    return await cmd(rest);
  } catch (err) {
    // Commands name themselves in some messages ("start: --id is required"); say it once.
    const message = errorMessage(err);
    process.stderr.write(`raftsched ${name}: ${message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message}\n`);
    // A command line that cannot be understood exits 2, like an unknown command; anything else 1.
    return errorCode(err) === "BAD_ARGS" ? 2 : 1;
  }
}
