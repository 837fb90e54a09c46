/**
 * Lower bounds for the gate benchmark: the least a Worker must do on each path, with nothing
 * else (no lists, no KV, no R2, no routing). The first path segment picks what it does:
 *
 *   /read/...     reads the body in 256 KiB blocks, as the gate does, and answers its length
 *   /digests/...  reads it and computes MD5, SHA-1 and SHA-256 with crypto.DigestStream (what
 *                 the gate computes when the lists use all three), and answers its length
 *   /hold/...     reads and digests it, keeps it in memory, then forwards it to ORIGIN_URL:
 *                 the smallest possible hold-mode gate
 *   /stream/...   reads and digests it while forwarding each block as soon as the next one
 *                 has arrived, withholding the last block until the digests are done: the
 *                 smallest possible stream-mode gate (the design hashgate does not offer;
 *                 these rows measure what it would save)
 *
 * Every gate in hold mode does at least /hold's work, so its timings bound any gate design on
 * the machine the benchmark runs on.
 */
const BLOCK = 256 * 1024;
const ALGORITHMS = ["MD5", "SHA-1", "SHA-256"];

async function readAll(body, onBlock) {
  const reader = body.getReader({ mode: "byob" });
  let total = 0;
  for (;;) {
    const { done, value } = await reader.readAtLeast(BLOCK, new Uint8Array(BLOCK));
    if (value && value.length > 0) {
      total += value.length;
      await onBlock(value);
    }
    if (done) return total;
  }
}

async function digestAll(body, keep) {
  const streams = ALGORITHMS.map((a) => new crypto.DigestStream(a));
  const writers = streams.map((s) => s.getWriter());
  const total = await readAll(body, async (block) => {
    keep?.push(block);
    await Promise.all(writers.map((w) => w.write(block)));
  });
  await Promise.all(writers.map((w) => w.close()));
  await Promise.all(streams.map((s) => s.digest));
  return total;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const [, mode, ...rest] = url.pathname.split("/");
    if (!request.body) return new Response("no body", { status: 400 });
    if (mode === "read") return new Response(String(await readAll(request.body, async () => {})));
    if (mode === "digests") return new Response(String(await digestAll(request.body, null)));
    if (mode === "hold") {
      const blocks = [];
      const total = await digestAll(request.body, blocks);
      const body = new Uint8Array(total);
      let at = 0;
      for (const b of blocks) {
        body.set(b, at);
        at += b.length;
      }
      const headers = new Headers(request.headers);
      headers.delete("host");
      return fetch(`${env.ORIGIN_URL}/${rest.join("/")}`, { method: request.method, headers, body });
    }
    if (mode === "stream") {
      const length = Number(request.headers.get("content-length"));
      const { readable, writable } = new FixedLengthStream(length);
      const headers = new Headers(request.headers);
      headers.delete("host");
      const response = fetch(`${env.ORIGIN_URL}/${rest.join("/")}`, {
        method: request.method,
        headers,
        body: readable,
      });
      const writer = writable.getWriter();
      const streams = ALGORITHMS.map((a) => new crypto.DigestStream(a));
      const writers = streams.map((s) => s.getWriter());
      let withheld = null;
      await readAll(request.body, async (block) => {
        if (withheld) await writer.write(withheld);
        await Promise.all(writers.map((w) => w.write(block)));
        withheld = block;
      });
      await Promise.all(writers.map((w) => w.close()));
      await Promise.all(streams.map((s) => s.digest));
      if (withheld) await writer.write(withheld);
      await writer.close();
      return response;
    }
    return new Response("unknown mode", { status: 404 });
  },
};
