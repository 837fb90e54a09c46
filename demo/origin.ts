/**
 * The quickstart's demo origin: a stand-in for the platform behind the gate. It keeps nothing;
 * it answers each request with what arrived (method, path, size, SHA-256 of the body, and for a
 * multipart form the name, size and SHA-256 of every file in it) so you can check by eye that
 * clean uploads reach it byte-identical and blocked ones never do. Loopback only.
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

interface ReceivedFile {
  field: string;
  filename: string;
  size: number;
  sha256: string;
}

/** The files of a multipart form, as the origin's own framework would see them. */
async function formFiles(body: Buffer, contentType: string): Promise<ReceivedFile[] | undefined> {
  if (!/^multipart\/form-data\b/i.test(contentType)) return undefined;
  try {
    const form = await new Response(new Uint8Array(body), {
      headers: { "content-type": contentType },
    }).formData();
    const files: ReceivedFile[] = [];
    for (const [field, value] of form as unknown as Iterable<[string, FormDataEntryValue]>) {
      if (typeof value === "string") continue;
      const bytes = new Uint8Array(await value.arrayBuffer());
      files.push({ field, filename: value.name, size: bytes.length, sha256: sha256(bytes) });
    }
    return files;
  } catch {
    return undefined;
  }
}

export function startDemoOrigin(port: number, host = "127.0.0.1"): Promise<() => Promise<void>> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const files = await formFiles(body, req.headers["content-type"] ?? "");
    const record = {
      origin: "hashgate demo origin",
      method: req.method,
      path: req.url,
      size: body.length,
      sha256: sha256(body),
      ...(files ? { files } : {}),
    };
    const named =
      files?.map((f) => ` ${f.filename} (${f.size} bytes, sha256 ${f.sha256.slice(0, 12)}…)`).join(",") ?? "";
    console.log(`[origin] ${req.method} ${req.url} ${body.length} bytes${named}`);
    res.writeHead(200, { "content-type": "application/json" }).end(`${JSON.stringify(record)}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () =>
      resolve(
        () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      ),
    );
  });
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const port = Number(process.env.DEMO_ORIGIN_PORT ?? 8788);
  await startDemoOrigin(port);
  console.log(`demo origin listening on http://127.0.0.1:${port}`);
}
