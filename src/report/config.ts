/** Reporting configuration, read and validated once from the Worker's env. */

import type { Env } from "../env.ts";
import { AppError } from "../errors.ts";
import { CYBERTIP_BASE_URLS } from "./cybertip-client.ts";
import type { ReporterConfig } from "./xml.ts";

export class ReportConfigError extends AppError {
  constructor(message: string) {
    super("not_configured", "reporting or auth is not configured; see docs/review.md", message);
    this.name = "ReportConfigError";
  }
}

export type ReportConfig =
  | { kind: "cybertip"; baseUrl: string; username: string; password: string; reporter: ReporterConfig }
  | { kind: "webhook"; url: string; secret: string | null };

const cache = new WeakMap<object, ReportConfig>();

/** The reporting configuration, parsed and validated once per isolate (per env object). */
export function reportConfig(env: Env): ReportConfig {
  let cfg = cache.get(env);
  if (!cfg) {
    cfg = parseReportConfig(env);
    cache.set(env, cfg);
  }
  return cfg;
}

function parseReportConfig(env: Env): ReportConfig {
  const kind = env.REPORT_KIND ?? "cybertip";
  if (kind === "webhook") {
    if (!env.REPORT_WEBHOOK_URL) throw new ReportConfigError("REPORT_WEBHOOK_URL is not set");
    return { kind, url: env.REPORT_WEBHOOK_URL, secret: env.REPORT_WEBHOOK_SECRET ?? null };
  }
  if (kind !== "cybertip") throw new ReportConfigError("REPORT_KIND must be cybertip or webhook");
  const which = env.CYBERTIP_ENV ?? "test";
  if (which !== "test" && which !== "production")
    throw new ReportConfigError("CYBERTIP_ENV must be test or production");
  if (!env.CYBERTIP_USERNAME || !env.CYBERTIP_PASSWORD) {
    throw new ReportConfigError("CYBERTIP_USERNAME / CYBERTIP_PASSWORD secrets are not set");
  }
  if (!env.REPORTER_EMAIL) throw new ReportConfigError("REPORTER_EMAIL is not set");
  return {
    kind,
    baseUrl: env.CYBERTIP_BASE_URL || CYBERTIP_BASE_URLS[which],
    username: env.CYBERTIP_USERNAME,
    password: env.CYBERTIP_PASSWORD,
    reporter: {
      email: env.REPORTER_EMAIL,
      ...(env.REPORTER_FIRST_NAME ? { firstName: env.REPORTER_FIRST_NAME } : {}),
      ...(env.REPORTER_LAST_NAME ? { lastName: env.REPORTER_LAST_NAME } : {}),
      ...(env.REPORTER_ESP_SERVICE ? { espService: env.REPORTER_ESP_SERVICE } : {}),
    },
  };
}
