/**
 * The quickstart's demo origin: a stand-in for the platform behind the gate. It keeps nothing;
 * it answers each request with what arrived (method, path, size, SHA-256) so you can check that
 * clean uploads reach it byte-identical and blocked ones never do. Loopback only.
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";

export function startDemoOrigin(port: number, host = "127.0.0.1"): Promise<() => Promise<void>> {
  const server = createServer(async (req, res) => {
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of req) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    const record = {
      origin: "hashgate demo origin",
      method: req.method,
      path: req.url,
      size,
      sha256: hash.digest("hex"),
    };
    console.log(`[origin] ${req.method} ${req.url} ${size} bytes`);
    res.writeHead(200, { "content-type": "application/json" }).end(`${JSON.stringify(record)}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(() => new Promise<void>((r) => server.close(() => r()))));
  });
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const port = Number(process.env.DEMO_ORIGIN_PORT ?? 8788);
  await startDemoOrigin(port);
  console.log(`demo origin listening on http://127.0.0.1:${port}`);
}
