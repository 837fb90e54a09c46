/**
 * SHA-256 of a request body as the gate reads it, for the origin signature: the exact bytes
 * the origin then receives. Computed only when ORIGIN_SIGNING_KEY is set, in the same pass as
 * the scan (native DigestStream: DESIGN.md measured 1,231 MB/s), so the body is read once.
 * The body is re-served as a byte stream of the scanner's own blocks: a JavaScript transform
 * would hand the scanner 4 KiB chunks, which cost per call (src/scan/blocks.ts).
 */
import { readBlocks } from "../scan/blocks.ts";
import { DigestSet } from "../scan/digests.ts";

export class BodySha256 {
  private readonly set = new DigestSet(["sha256"]);
  private result: Promise<string> | null = null;

  /** The same request, its body passing through this digest as it is read. */
  wrap(request: Request): Request {
    const source = request.body;
    if (source === null) return request;
    const blocks = readBlocks(source);
    const set = this.set;
    const body = new ReadableStream({
      type: "bytes",
      async pull(controller) {
        const { done, value } = await blocks.next();
        if (done) return controller.close();
        // The digest has taken the bytes once the write resolves; enqueue then transfers them.
        await set.update(value);
        controller.enqueue(value);
      },
      async cancel(reason) {
        await blocks.return(undefined);
        await source.cancel(reason).catch(() => undefined);
      },
    });
    return new Request(request, { body });
  }

  /** The hex digest; call once the body has been read to its end. */
  hex(): Promise<string> {
    this.result ??= this.set.finish().then((d) => d.sha256!);
    return this.result;
  }
}
