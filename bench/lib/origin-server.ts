/**
 * The benchmark's origin, run as its own process (forked by origin.ts) so that it does not
 * share an event loop with the load generator. It reads and discards each body and answers
 * 200 with the number of bytes it received; GET /__stats returns per-path request counts, so
 * the benchmark can check that a blocked upload never reached it.
 */
import { createServer } from "node:http";

const STATS_PATH = "/__stats";
const received = new Map<string, { requests: number; bytes: number }>();

const server = createServer((req, res) => {
  const path = (req.url ?? "/").split("?")[0]!;
  if (req.method === "GET" && path === STATS_PATH) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(Object.fromEntries(received)));
    return;
  }
  let bytes = 0;
  req.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on("end", () => {
    const entry = received.get(path) ?? { requests: 0, bytes: 0 };
    entry.requests++;
    entry.bytes += bytes;
    received.set(path, entry);
    const body = String(bytes);
    res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
// Keep connections open between sequential requests (clients reuse them).
server.keepAliveTimeout = 60_000;

server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("origin: no TCP address");
  process.send?.({ port: addr.port });
});
process.on("disconnect", () => server.close(() => process.exit(0)));
