/**
 * Reviewer wellness settings: revealed media blurred and greyscale unless the reviewer opts out,
 * how strongly it is blurred, and after how many reveals in a session the UI suggests a break.
 */
export interface ReviewerSettings {
  blur: boolean;
  greyscale: boolean;
  /** CSS blur radius in px while blurred. */
  blurPx: number;
  /** Reveals in one browser session before the break prompt. */
  breakAfter: number;
}

export const DEFAULT_SETTINGS: ReviewerSettings = { blur: true, greyscale: true, blurPx: 18, breakAfter: 20 };
export const BLUR_PX = { min: 4, max: 40 } as const;
export const BREAK_AFTER = { min: 1, max: 500 } as const;

export async function getSettings(db: D1Database, reviewer: string): Promise<ReviewerSettings> {
  const row = await db
    .prepare("SELECT blur, greyscale, blur_px, break_after FROM reviewer_settings WHERE reviewer = ?1")
    .bind(reviewer)
    .first<{ blur: number; greyscale: number; blur_px: number; break_after: number }>();
  return row
    ? {
        blur: row.blur === 1,
        greyscale: row.greyscale === 1,
        blurPx: row.blur_px,
        breakAfter: row.break_after,
      }
    : { ...DEFAULT_SETTINGS };
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

export function putSettingsStatement(
  db: D1Database,
  reviewer: string,
  s: ReviewerSettings,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO reviewer_settings (reviewer, blur, greyscale, blur_px, break_after, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6)
       ON CONFLICT (reviewer) DO UPDATE SET blur = excluded.blur, greyscale = excluded.greyscale,
         blur_px = excluded.blur_px, break_after = excluded.break_after, updated_at = excluded.updated_at`,
    )
    .bind(reviewer, s.blur ? 1 : 0, s.greyscale ? 1 : 0, s.blurPx, s.breakAfter, new Date().toISOString());
}
