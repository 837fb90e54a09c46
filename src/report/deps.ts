/**
 * What a report flow takes from outside (fetch, sleep), so tests can replace them. Shared by the
 * CyberTipline flow and the webhook flow, which is why it lives in neither.
 */
export interface ReportDeps {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}
