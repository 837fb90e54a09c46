/** The demo origin reports what it received, files of a multipart form included (quickstart: check by eye). */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { startDemoOrigin } from "../../demo/origin.ts";

test("demo origin names every file of a multipart upload with its size and SHA-256", async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const stop = await startDemoOrigin(port);
  try {
    const png = readFileSync("demo/clean/stripes.png");
    const form = new FormData();
    form.append("note", "hello");
    form.append("file", new Blob([png], { type: "image/png" }), "stripes.png");
    const res = await fetch(`http://127.0.0.1:${port}/upload`, { method: "POST", body: form });
    const record = (await res.json()) as {
      files: { field: string; filename: string; size: number; sha256: string }[];
    };
    assert.deepEqual(record.files, [
      {
        field: "file",
        filename: "stripes.png",
        size: png.length,
        sha256: createHash("sha256").update(png).digest("hex"),
      },
    ]);
    const raw = await fetch(`http://127.0.0.1:${port}/notes`, { method: "POST", body: "plain" });
    const plain = (await raw.json()) as { size: number; files?: unknown };
    assert.equal(plain.size, 5);
    assert.equal(plain.files, undefined);
  } finally {
    await stop();
  }
});
