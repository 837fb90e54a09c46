/**
 * HTTP client for NCMEC's CyberTipline reporting API (submit → upload → fileinfo → finish;
 * retract). Retries only what can succeed on retry: response codes 1000/1100/1110/1111 and
 * network failures, with exponential backoff. `submit` is never retried after the request may
 * have reached the server (see cybertip-flow.ts): a second submit would be a second report.
 */
import { XMLParser } from "fast-xml-parser";

export const CYBERTIP_BASE_URLS = {
  production: "https://report.cybertip.org/ispws",
  test: "https://exttest.cybertip.org/ispws",
} as const;

/** Response codes worth retrying: server and save/upload failures. */
export const RETRYABLE_CODES = new Set([1000, 1100, 1110, 1111]);

export class CyberTipError extends Error {
  /** NCMEC response code, or -1 for a network/transport failure (no code received). */
  readonly code: number;
  readonly retryable: boolean;
  constructor(code: number, description: string) {
    super(`CyberTipline ${code === -1 ? "network error" : `code ${code}`}: ${description}`);
    this.name = "CyberTipError";
    this.code = code;
    this.retryable = code === -1 || RETRYABLE_CODES.has(code);
  }
}

export interface CyberTipClientOptions {
  baseUrl: string;
  username: string;
  password: string;
  fetch?: typeof fetch;
  /** Attempts per call for retryable failures (1 = no retry). */
  maxAttempts?: number;
  /** Waits between attempts; tests pass a no-op. */
  sleep?: (ms: number) => Promise<void>;
}

export interface CyberTipResponse {
  responseCode: number;
  responseDescription: string;
  reportId?: string;
  fileId?: string;
  hash?: string;
}

const parser = new XMLParser({ parseTagValue: false, trimValues: true });

/** Reads the `reportResponse` document of any endpoint. */
export function parseResponse(body: string): CyberTipResponse | null {
  try {
    const doc = parser.parse(body) as { reportResponse?: Record<string, unknown> };
    const r = doc.reportResponse;
    if (!r || typeof r !== "object") return null;
    // Only a single text element counts: a blank, nested or repeated value is no answer at all
    // (a blank code must never read as 0, "success").
    const code =
      typeof r.responseCode === "string" && /^\d{1,6}$/.test(r.responseCode) ? Number(r.responseCode) : null;
    if (code === null) return null;
    // Ids are short tokens (NCMEC's are numbers): anything else is not an id we can store or send back.
    const str = (v: unknown) => (typeof v === "string" && /^[A-Za-z0-9._-]{1,128}$/.test(v) ? v : undefined);
    return {
      responseCode: code,
      responseDescription: typeof r.responseDescription === "string" ? r.responseDescription : "",
      ...(str(r.reportId) ? { reportId: str(r.reportId)! } : {}),
      ...(str(r.fileId) ? { fileId: str(r.fileId)! } : {}),
      ...(str(r.hash) ? { hash: str(r.hash)! } : {}),
    };
  } catch {
    return null;
  }
}

const BASE_BACKOFF_MS = 500;

export class CyberTipClient {
  private readonly opts: Required<Omit<CyberTipClientOptions, "fetch">> & { fetch: typeof fetch };

  constructor(opts: CyberTipClientOptions) {
    if (!opts.username || !opts.password) throw new Error("CyberTipline credentials missing");
    this.opts = {
      maxAttempts: 4,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      fetch: (...a) => fetch(...a),
      ...opts,
      baseUrl: opts.baseUrl.replace(/\/+$/, ""),
    };
  }

  private auth(): string {
    const raw = new TextEncoder().encode(`${this.opts.username}:${this.opts.password}`);
    return `Basic ${btoa(String.fromCharCode(...raw))}`;
  }

  /** One call, no retry. Throws CyberTipError for a non-zero code or a transport failure. */
  private async once(path: string, body: BodyInit, contentType?: string): Promise<CyberTipResponse> {
    const headers: Record<string, string> = { authorization: this.auth() };
    if (contentType) headers["content-type"] = contentType;
    let res: Response;
    try {
      res = await this.opts.fetch(`${this.opts.baseUrl}${path}`, { method: "POST", headers, body });
    } catch (e) {
      throw new CyberTipError(-1, e instanceof Error ? e.message : String(e));
    }
    const parsed = parseResponse(await res.text());
    if (!parsed) {
      if (res.status === 401) throw new CyberTipError(2000, "authentication required");
      // No readable answer from a gateway or proxy: a transport failure.
      if (res.status >= 500) throw new CyberTipError(-1, `HTTP ${res.status} without a response document`);
      throw new CyberTipError(4000, `HTTP ${res.status} without a response document`);
    }
    if (parsed.responseCode !== 0) throw new CyberTipError(parsed.responseCode, parsed.responseDescription);
    return parsed;
  }

  /**
   * Runs `make()` (a fresh body per attempt: streams and FormData are single-use) with retries;
   * `retryNetwork` false retries only explicit failure codes, never a lost connection.
   */
  private async withRetry(
    path: string,
    make: () => [BodyInit, string?],
    retryNetwork = true,
  ): Promise<CyberTipResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        const [body, type] = make();
        return await this.once(path, body, type);
      } catch (e) {
        const retry = e instanceof CyberTipError && e.retryable && (retryNetwork || e.code !== -1);
        if (!retry || attempt >= this.opts.maxAttempts) throw e;
        await this.opts.sleep(BASE_BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
  }

  /**
   * POST /submit. Retried only on an explicit server/save failure code (the server said no
   * report was made); a network failure is thrown as is, since the report may exist.
   */
  async submit(xml: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.once("/submit", xml, "text/xml; charset=utf-8");
        if (!r.reportId) throw new CyberTipError(1000, "submit answered without a reportId");
        return r.reportId;
      } catch (e) {
        const codeSaysRetry = e instanceof CyberTipError && e.code !== -1 && e.retryable;
        if (!codeSaysRetry || attempt >= this.opts.maxAttempts) throw e;
        await this.opts.sleep(BASE_BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
  }

  /**
   * POST /upload: returns NCMEC's file id and the MD5 it computed. Like submit, retried only on
   * an explicit failure code: after a network failure the file may be stored already, and
   * uploading it again would put it in the report twice.
   */
  async upload(
    reportId: string,
    filename: string,
    bytes: Uint8Array,
  ): Promise<{ fileId: string; md5: string | null }> {
    const r = await this.withRetry(
      "/upload",
      () => {
        const form = new FormData();
        form.set("id", reportId);
        form.set("file", new Blob([bytes]), filename);
        return [form];
      },
      false,
    );
    if (!r.fileId) throw new CyberTipError(1000, "upload answered without a fileId");
    return { fileId: r.fileId, md5: r.hash?.toLowerCase() ?? null };
  }

  async fileInfo(xml: string): Promise<void> {
    await this.withRetry("/fileinfo", () => [xml, "text/xml; charset=utf-8"]);
  }

  private idForm(reportId: string): () => [BodyInit] {
    return () => {
      const form = new FormData();
      form.set("id", reportId);
      return [form];
    };
  }

  async finish(reportId: string): Promise<void> {
    await this.withRetry("/finish", this.idForm(reportId));
  }

  async retract(reportId: string): Promise<void> {
    await this.withRetry("/retract", this.idForm(reportId));
  }
}
