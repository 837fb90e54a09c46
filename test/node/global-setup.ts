/**
 * Vitest global setup (runs in Node, outside workerd). Starts one loopback HTTP server that
 * plays two parts for the tests running inside workerd:
 * - a recording origin: every request under `/` is stored (method, path, headers, exact body)
 *   and answered with a small JSON echo; `GET /__origin/log` returns the records,
 *   `POST /__origin/reset` clears them;
 * - a fixture server: `GET /__fixtures/<path>` serves files from ../shared/fixtures (benign
 *   test images), since code inside workerd cannot read the host's files.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import { join, normalize } from "node:path";
import type { TestProject } from "vitest/node";
import { FIXTURES_DIR } from "./fixtures-dir.ts";

interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  size: number;
  sha256: string;
  bodyBase64?: string;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export default async function setup(project: TestProject) {
  let received: Received[] = [];
  const server = createServer(async (req, res) => {
    const url = req.url ?? "/";
    try {
      if (url.startsWith("/__fixtures/")) {
        const rel = normalize(decodeURIComponent(url.slice("/__fixtures/".length)));
        if (rel.startsWith("..")) throw new Error("outside fixtures");
        const bytes = await readFile(join(FIXTURES_DIR, rel));
        res.writeHead(200, { "content-type": "application/octet-stream" }).end(bytes);
        return;
      }
      if (url === "/__origin/log") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(received));
        return;
      }
      if (url === "/__origin/reset") {
        received = [];
        res.writeHead(204).end();
        return;
      }
      const body = await readBody(req);
      const sha256 = createHash("sha256").update(body).digest("hex");
      received.push({
        method: req.method ?? "",
        url,
        headers: req.headers,
        size: body.length,
        sha256,
        // Small bodies are kept whole so tests can compare them byte for byte.
        ...(body.length <= 1 << 20 ? { bodyBase64: body.toString("base64") } : {}),
      });
      res
        .writeHead(201, { "content-type": "application/json", "x-origin": "test" })
        .end(JSON.stringify({ ok: true, size: body.length, sha256 }));
    } catch (e) {
      res.writeHead(404, { "content-type": "text/plain" }).end(String(e));
    }
  });
  server.requestTimeout = 0;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("test origin has no port");
  project.provide("originPort", addr.port);
  return () => new Promise<void>((r) => server.close(() => r()));
}
