#!/usr/bin/python3
"""A raftsched external worker in Python: the protocol of README "External workers", on one page.

    /usr/bin/python3 examples/worker.py <cluster-file> <worker-id> [capacity]

Needs Debian's python3-websockets (apt-get install python3-websockets). Runs payloads
{"sleepMs": n, "fail": bool} like the built-in handler, and {"text": s} -> {"upper": S}.
SIGTERM/SIGINT drain it: nothing new is taken, what runs finishes, then it exits 0.
"""
import asyncio, json, signal, sys
import websockets

cluster = json.load(open(sys.argv[1]))
WORKER_ID, CAPACITY = sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1
URLS = [n["url"] for n in cluster["nodes"]]
running = {}          # taskId -> (attempt, asyncio.Task)


async def handle(payload):
    await asyncio.sleep(payload.get("sleepMs", 0) / 1000)
    if payload.get("fail"):
        raise RuntimeError("payload asked to fail")
    if "text" in payload:
        return {"upper": payload["text"].upper(), "by": "python"}
    return {"ok": True, "by": "python"}


async def run(ws, task_id, attempt, payload):
    try:
        # Progress: the leader keeps the running attempt's latest value (no log entry) and shows it on the task.
        await ws.send(json.dumps({"type": "progress", "taskId": task_id, "attempt": attempt, "progress": {"stage": "started"}}))
        frame = {"type": "complete", "taskId": task_id, "attempt": attempt, "result": await handle(payload)}
    except asyncio.CancelledError:
        return  # aborted by the leader: report nothing, it would be refused
    except Exception as err:
        frame = {"type": "fail", "taskId": task_id, "attempt": attempt, "error": {"code": "HANDLER_ERROR", "message": str(err)}}
    finally:
        running.pop(task_id, None)
    await ws.send(json.dumps(frame))
    print(f"{frame['type']} {task_id} attempt {attempt}", flush=True)


async def heartbeat(ws, every_s):
    while True:
        await asyncio.sleep(every_s)
        await ws.send(json.dumps({"type": "heartbeat"}))


async def session(url, stop):
    """One connection. Returns the url to try next (the leader's, when told), or None when done."""
    ws_url = url.replace("http://", "ws://").rstrip("/") + "/v1/worker"
    async with websockets.connect(ws_url, extra_headers={"Authorization": "Bearer " + cluster["token"]}) as ws:
        held = [{"taskId": t, "attempt": a} for t, (a, _) in running.items()]
        await ws.send(json.dumps({"type": "register", "v": 1, "id": WORKER_ID, "capacity": CAPACITY, "tags": ["python"], "running": held}))
        beat = None
        try:
            while True:
                get = asyncio.ensure_future(ws.recv())
                done, _ = await asyncio.wait({get, stop}, return_when=asyncio.FIRST_COMPLETED)
                if stop in done and not get.done():
                    return await drain(ws, get)
                f = json.loads(get.result())
                if f["type"] == "registered":
                    beat = asyncio.ensure_future(heartbeat(ws, f["heartbeatMs"] / 1000))
                    print(f"registered with {f['leaderId']}", flush=True)
                elif f["type"] == "notLeader":
                    return f.get("leaderUrl")
                else:
                    on_task_frame(ws, f)
        finally:
            if beat:
                beat.cancel()


def on_task_frame(ws, f):
    if f["type"] == "assign" and f["taskId"] not in running:
        job = asyncio.ensure_future(run(ws, f["taskId"], f["attempt"], f.get("payload") or {}))
        running[f["taskId"]] = (f["attempt"], job)
    elif f["type"] == "abort" and running.get(f["taskId"], (None,))[0] == f["attempt"]:
        running[f["taskId"]][1].cancel()
    elif f["type"] == "error":
        print(f"error {f['code']}: {f['message']}", flush=True)


async def drain(ws, pending_recv):
    """Take nothing new (capacity 0, acknowledged by `draining`: every assignment before it must still run),
    finish what runs, say bye."""
    await ws.send(json.dumps({"type": "drain"}))
    while (f := json.loads(await pending_recv))["type"] != "draining":
        on_task_frame(ws, f)
        pending_recv = ws.recv()
    while running:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # let the last reports' answers arrive
    await ws.send(json.dumps({"type": "bye"}))
    print("drained", flush=True)
    return None


async def main():
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(True))
    k, next_url = 0, None
    while True:
        url = next_url or URLS[k % len(URLS)]
        k += 1
        try:
            next_url = await session(url, stop)
            if next_url is None and stop.done():
                return
        except (OSError, websockets.exceptions.WebSocketException) as err:
            print(f"connection to {url} lost: {err}", flush=True)
            next_url = None
            await asyncio.sleep(0.2)


asyncio.run(main())
