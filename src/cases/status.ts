/** The states a case can be in (the `cases.status` column); transitions are in workflow.ts. */
export const CASE_STATUSES = ["new", "in_review", "confirmed", "dismissed", "reported", "appealed"] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

export function isCaseStatus(s: string): s is CaseStatus {
  return (CASE_STATUSES as readonly string[]).includes(s);
}
