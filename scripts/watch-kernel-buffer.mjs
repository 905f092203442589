// How many bytes the kernel takes from a server's socket before Node starts buffering (writableLength > 16 KiB),
// for a client that never reads and asked for a 1 KiB receive window (python3, as a slow watcher could).
// Usage: node scripts/watch-kernel-buffer.mjs
import http from "node:http";
import { spawn } from "node:child_process";

let client;
const srv = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/event-stream" });
  let sent = 0;
  const chunk = "x".repeat(1000);
  const timer = setInterval(() => {
    for (let i = 0; i < 5; i++) {
      res.write(chunk);
      sent += chunk.length;
    }
    if (res.writableLength > 16384) {
      console.log(`kernel took ~${sent - res.writableLength} bytes before Node buffered 16 KiB`);
      clearInterval(timer);
      client.kill();
      process.exit(0);
    }
  }, 5);
});
srv.listen(0, "127.0.0.1", () => {
  const port = srv.address().port;
  const py = `import socket,time
s=socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
s.connect(("127.0.0.1", ${port}))
s.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
time.sleep(60)`;
  client = spawn("python3", ["-c", py], { stdio: "inherit" });
});
