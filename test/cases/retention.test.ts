// Retention: reported cases kept at least a year after the report, dismissed ones purged after
// the configured period, open ones never.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { evidenceMetaKey } from "../../src/cases/evidence.ts";
import { enforceRetention, RetentionConfigError, retentionPolicy } from "../../src/cases/retention.ts";
import { createReviewApp } from "../../src/review/app.ts";
import {
  bearer,
  jsonPost,
  REVIEWER_TOKEN,
  resetDb,
  reviewEnv,
  seedCase,
  testKeys,
} from "../helpers/cases.ts";

const DAY = 86_400_000;
const app = createReviewApp({ keys: testKeys });
const E = reviewEnv();

beforeEach(resetDb);

async function decideAt(id: string, action: string, daysAgo: number) {
  await app.request(`/api/cases/${id}/decision`, jsonPost(REVIEWER_TOKEN, { action, reason: "test" }), E);
  const when = new Date(Date.now() - daysAgo * DAY).toISOString();
  await env.DB.prepare("UPDATE cases SET decided_at = ?1 WHERE id = ?2").bind(when, id).run();
}

async function markReported(id: string, daysAgo: number) {
  const when = new Date(Date.now() - daysAgo * DAY).toISOString();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO reports (case_id, kind, state, report_id, xml, created_by, created_at, updated_at, finished_at)
       VALUES (?1, 'cybertip', 'finished', 'r1', '<report/>', 't', ?2, ?2, ?2)`,
    ).bind(id, when),
    env.DB.prepare("UPDATE cases SET status = 'reported' WHERE id = ?1").bind(id),
  ]);
}

async function evidenceCount(id: string) {
  return (await env.EVIDENCE.list({ prefix: `evidence/${id}/` })).objects.length;
}

describe("retention policy", () => {
  it("never keeps reported cases less than 365 days, whatever is configured", () => {
    expect(retentionPolicy({ ...env, REPORTED_RETENTION_DAYS: "90" }).reportedDays).toBe(365);
    expect(retentionPolicy({ ...env, REPORTED_RETENTION_DAYS: "730" }).reportedDays).toBe(730);
    // A value that is not a number of days is a configuration error, not a silent default.
    expect(() => retentionPolicy({ ...env, REPORTED_RETENTION_DAYS: "junk" })).toThrow(RetentionConfigError);
    expect(retentionPolicy({ ...env, DISMISSED_RETENTION_DAYS: "7" }).dismissedDays).toBe(7);
  });
});

describe("enforceRetention", () => {
  it("purges dismissed cases after the period and reported ones only after a year", async () => {
    const oldDismissed = await seedCase({ seed: 1 });
    const newDismissed = await seedCase({ seed: 2 });
    const reportedLongAgo = await seedCase({ seed: 3 });
    const reportedRecently = await seedCase({ seed: 4 });
    const open = await seedCase({ seed: 5 });
    await decideAt(oldDismissed.caseId, "dismiss", 31);
    await decideAt(newDismissed.caseId, "dismiss", 5);
    await markReported(reportedLongAgo.caseId, 366);
    await markReported(reportedRecently.caseId, 364);
    await env.DB.prepare("UPDATE cases SET created_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1")
      .bind(open.caseId)
      .run();

    const res = await enforceRetention({
      ...E,
      DISMISSED_RETENTION_DAYS: "30",
      REPORTED_RETENTION_DAYS: "100",
    });
    expect(res.dismissed).toEqual([oldDismissed.caseId]);
    expect(res.reported).toEqual([reportedLongAgo.caseId]);

    for (const gone of [oldDismissed, reportedLongAgo]) {
      expect(await evidenceCount(gone.caseId)).toBe(0);
      const row = await env.DB.prepare(
        "SELECT purged_at, uploader_ip, identity, message FROM cases WHERE id = ?1",
      )
        .bind(gone.caseId)
        .first();
      expect(row).toMatchObject({ uploader_ip: null, identity: null, message: '{"purged":true}' });
      expect(row?.purged_at).toBeTruthy();
    }
    for (const kept of [newDismissed, reportedRecently, open])
      expect(await evidenceCount(kept.caseId)).toBe(2);
    expect(await env.EVIDENCE.head(evidenceMetaKey(reportedRecently.caseId))).not.toBeNull();
    const xml = await env.DB.prepare("SELECT xml FROM reports WHERE case_id = ?1")
      .bind(reportedLongAgo.caseId)
      .first();
    expect(xml).toEqual({ xml: null });

    // A purged case is still listed (audit trail) but its evidence is refused.
    const r = await app.request(
      `/api/cases/${oldDismissed.caseId}/files/0?reason=look`,
      bearer(REVIEWER_TOKEN),
      E,
    );
    expect(r.status).toBe(410);
    // Running again purges nothing more.
    expect(await enforceRetention(E)).toEqual({ reported: [], dismissed: [] });
  });

  it("keeps a dismissed case whose report is less than a year old (appeal overturned after reporting)", async () => {
    const m = await seedCase();
    await markReported(m.caseId, 10);
    await env.DB.prepare("UPDATE cases SET status = 'dismissed', decided_at = ?1 WHERE id = ?2")
      .bind(new Date(Date.now() - 60 * DAY).toISOString(), m.caseId)
      .run();
    expect(await enforceRetention(E)).toEqual({ reported: [], dismissed: [] });
    expect(await evidenceCount(m.caseId)).toBe(2);
  });
});
