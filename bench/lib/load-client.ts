/**
 * Runs uploads at a fixed concurrency over a keep-alive agent and judges each answer: a clean
 * upload must come back 200 with the origin's byte count, a listed one with the block status
 * and a case id. Anything else (a socket error, a timeout, a wrong answer) is an error.
 */
import { Agent, request } from "node:http";
import type { LoadUpload } from "./load-mix.ts";

export interface Outcome {
  upload: LoadUpload;
  ms: number;
  /** null when the upload got the answer it should. */
  error: string | null;
  caseId?: string;
}

const REQUEST_TIMEOUT_MS = 180_000;

function send(
  agent: Agent,
  base: string,
  u: LoadUpload,
): Promise<{ status: number; text: string; caseId?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${u.path}`,
      {
        method: "POST",
        agent,
        headers: { "content-type": u.contentType, "content-length": u.body.length },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const c = res.headers["x-hashgate-case"];
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString("utf8"),
            ...(typeof c === "string" ? { caseId: c } : {}),
          });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout after ${REQUEST_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end(u.body);
  });
}

function judge(u: LoadUpload, r: { status: number; text: string; caseId?: string }, block: number) {
  if (u.kind === "listed") {
    if (r.status !== block) return `listed upload answered ${r.status}: ${r.text.slice(0, 120)}`;
    return r.caseId ? null : "block without a case id";
  }
  if (r.status !== 200) return `clean upload answered ${r.status}: ${r.text.slice(0, 120)}`;
  return r.text === String(u.body.length) ? null : `origin got ${r.text} bytes of ${u.body.length}`;
}

/**
 * Keeps `concurrency` uploads in flight until `count` are done. `make` is called just before
 * each request, so at most `concurrency` bodies exist at once.
 */
export async function runAtConcurrency(
  base: string,
  concurrency: number,
  count: number,
  make: () => LoadUpload,
  blockStatus: number,
  until = Number.POSITIVE_INFINITY,
): Promise<Outcome[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const out: Outcome[] = [];
  let started = 0;
  const worker = async () => {
    while (started < count && performance.now() < until) {
      started++;
      const u = make();
      const t0 = performance.now();
      try {
        const r = await send(agent, base, u);
        out.push({
          upload: u,
          ms: performance.now() - t0,
          error: judge(u, r, blockStatus),
          ...(r.caseId ? { caseId: r.caseId } : {}),
        });
      } catch (e) {
        out.push({
          upload: u,
          ms: performance.now() - t0,
          error: e instanceof Error ? e.message : String(e),
        });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return out;
}
