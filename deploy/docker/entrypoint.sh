#!/bin/sh
# The container's entry: runs one raftsched node in the foreground, as PID 1 after `exec`, so `docker stop` and
# Kubernetes' SIGTERM reach the node itself (it hands leadership over and exits 0; raftsched installs its own
# SIGTERM/SIGINT/SIGHUP handlers, so PID 1's default of ignoring signals does not apply).
#
# Environment (all optional):
#   RAFTSCHED_CONFIG     the cluster file                      (default /etc/raftsched/cluster.json)
#   RAFTSCHED_NODE_ID    this node's id in the file            (default: the host name, i.e. a StatefulSet pod's
#                                                              name such as raftsched-0)
#   RAFTSCHED_DATA_DIR   where the node keeps its data         (default /data/<id>, on the /data volume)
#   RAFTSCHED_JOIN       "1": start with --join (never bootstrap; wait to be added), or a comma-separated list of
#                        ids that start with --join (a replaced disk: README, "Kubernetes")
#   RAFTSCHED_BIN        the raftsched command                 (default: raftsched on PATH, else /app/bin/raftsched.js)
#   RAFTSCHED_DRY_RUN    "1": print the command instead of running it
#   RAFTSCHED_TOKEN, RAFTSCHED_READ_TOKEN, RAFTSCHED_LOG_LEVEL are read by the node itself.
# Arguments given to the container are appended to `raftsched start` (for instance --pretty).
set -eu

config=${RAFTSCHED_CONFIG:-/etc/raftsched/cluster.json}
id=${RAFTSCHED_NODE_ID:-$(hostname)}
data=${RAFTSCHED_DATA_DIR:-/data/$id}

case "$id" in
  "" | *[!A-Za-z0-9._:-]*) echo "raftsched-entrypoint: bad node id \"$id\" (set RAFTSCHED_NODE_ID)" >&2; exit 2 ;;
esac
if [ ! -r "$config" ]; then
  echo "raftsched-entrypoint: cannot read the cluster file $config (mount it, or set RAFTSCHED_CONFIG)" >&2
  exit 2
fi

join=""
case ",${RAFTSCHED_JOIN:-}," in
  ,1,) join="--join" ;;
  *",$id,"*) join="--join" ;;
esac

if [ -n "${RAFTSCHED_BIN:-}" ]; then
  set -- $RAFTSCHED_BIN start --config "$config" --id "$id" --data-dir "$data" $join "$@"
elif command -v raftsched >/dev/null 2>&1; then
  set -- raftsched start --config "$config" --id "$id" --data-dir "$data" $join "$@"
else
  set -- node /app/bin/raftsched.js start --config "$config" --id "$id" --data-dir "$data" $join "$@"
fi

mkdir -p "$data"
if [ "${RAFTSCHED_DRY_RUN:-}" = "1" ]; then
  echo "$@"
  exit 0
fi
exec "$@"
