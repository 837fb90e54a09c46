/**
 * Where reviewer wellness settings are kept: D1's `reviewer_settings` (migrations/0002, 0004),
 * one row per reviewer. Every statement on the table goes through `ReviewerSettingsStore`; the
 * defaults and validation are settings.ts.
 */

export interface ReviewerSettings {
  blur: boolean;
  greyscale: boolean;
  /** CSS blur radius in px while blurred. */
  blurPx: number;
  /** Reveals in one browser session before the break prompt. */
  breakAfter: number;
}

export interface ReviewerSettingsStore {
  /** The reviewer's saved settings, or null if they never saved any. */
  get(reviewer: string): Promise<ReviewerSettings | null>;
  /** The upsert of the reviewer's settings, not yet run, for a batch with its audit row. */
  putStatement(reviewer: string, s: ReviewerSettings, at: string): D1PreparedStatement;
}

export class D1ReviewerSettingsStore implements ReviewerSettingsStore {
  private readonly db: D1Database;

  constructor(db: D1Database) {
    this.db = db;
  }

  async get(reviewer: string): Promise<ReviewerSettings | null> {
    const row = await this.db
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
      : null;
  }

  putStatement(reviewer: string, s: ReviewerSettings, at: string): D1PreparedStatement {
    return this.db
      .prepare(
        `INSERT INTO reviewer_settings (reviewer, blur, greyscale, blur_px, break_after, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (reviewer) DO UPDATE SET blur = excluded.blur, greyscale = excluded.greyscale,
           blur_px = excluded.blur_px, break_after = excluded.break_after, updated_at = excluded.updated_at`,
      )
      .bind(reviewer, s.blur ? 1 : 0, s.greyscale ? 1 : 0, s.blurPx, s.breakAfter, at);
  }
}

/** The reviewer settings store of a D1 binding. */
export function reviewerSettingsStore(db: D1Database): ReviewerSettingsStore {
  return new D1ReviewerSettingsStore(db);
}
