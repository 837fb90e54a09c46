/**
 * Reviewer wellness settings: revealed media blurred and greyscale unless the reviewer opts out,
 * how strongly it is blurred, and after how many reveals in a session the UI suggests a break.
 * Saved per reviewer through settings-store.ts.
 */
import { type ReviewerSettings, reviewerSettingsStore } from "./settings-store.ts";

export type { ReviewerSettings } from "./settings-store.ts";

export const DEFAULT_SETTINGS: ReviewerSettings = { blur: true, greyscale: true, blurPx: 18, breakAfter: 20 };
export const BLUR_PX = { min: 4, max: 40 } as const;
export const BREAK_AFTER = { min: 1, max: 500 } as const;

export async function getSettings(db: D1Database, reviewer: string): Promise<ReviewerSettings> {
  return (await reviewerSettingsStore(db).get(reviewer)) ?? { ...DEFAULT_SETTINGS };
}

function intIn(v: unknown, r: { min: number; max: number }, dflt: number): number | null {
  if (v === undefined) return dflt;
  return typeof v === "number" && Number.isInteger(v) && v >= r.min && v <= r.max ? v : null;
}

/** Validates a settings body: blur and greyscale booleans; blurPx and breakAfter optional integers. */
export function parseSettings(
  x: unknown,
  current: ReviewerSettings = DEFAULT_SETTINGS,
): ReviewerSettings | null {
  if (typeof x !== "object" || x === null) return null;
  const s = x as Record<string, unknown>;
  if (typeof s.blur !== "boolean" || typeof s.greyscale !== "boolean") return null;
  const blurPx = intIn(s.blurPx, BLUR_PX, current.blurPx);
  const breakAfter = intIn(s.breakAfter, BREAK_AFTER, current.breakAfter);
  if (blurPx === null || breakAfter === null) return null;
  return { blur: s.blur, greyscale: s.greyscale, blurPx, breakAfter };
}
