/** Reviewer wellness settings: revealed media blurred and greyscale unless the reviewer opts out. */
export interface ReviewerSettings {
  blur: boolean;
  greyscale: boolean;
}

export const DEFAULT_SETTINGS: ReviewerSettings = { blur: true, greyscale: true };

export async function getSettings(db: D1Database, reviewer: string): Promise<ReviewerSettings> {
  const row = await db
    .prepare("SELECT blur, greyscale FROM reviewer_settings WHERE reviewer = ?1")
    .bind(reviewer)
    .first<{ blur: number; greyscale: number }>();
  return row ? { blur: row.blur === 1, greyscale: row.greyscale === 1 } : { ...DEFAULT_SETTINGS };
}

/** Validates a settings body: both fields booleans, nothing else. */
export function parseSettings(x: unknown): ReviewerSettings | null {
  if (typeof x !== "object" || x === null) return null;
  const s = x as Record<string, unknown>;
  if (typeof s.blur !== "boolean" || typeof s.greyscale !== "boolean") return null;
  return { blur: s.blur, greyscale: s.greyscale };
}

export function putSettingsStatement(
  db: D1Database,
  reviewer: string,
  s: ReviewerSettings,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO reviewer_settings (reviewer, blur, greyscale, updated_at) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (reviewer) DO UPDATE SET blur = excluded.blur, greyscale = excluded.greyscale,
         updated_at = excluded.updated_at`,
    )
    .bind(reviewer, s.blur ? 1 : 0, s.greyscale ? 1 : 0, new Date().toISOString());
}
