/**
 * The decision object of staged list versions (src/lists/staged.ts): one Durable Object per
 * list, named `staged:<list id>`, that settles how each staging of a version ends — switched
 * or discarded — exactly once. A switch asks for "switched" after its shard objects built the
 * version and before it writes history and manifest; a discard asks for "discarded" before it
 * removes anything. Whichever asks first is answered with its own outcome, every later caller
 * with that same outcome, so a discard racing a switch (the scheduled run, a POST) leaves one of
 * the two, never parts of both. KV alone cannot do this: it has no compare-and-set, and a write
 * takes up to a minute to show everywhere.
 *
 * The outcome is kept in the object's storage (it must outlive an eviction between the decision
 * and the manifest write) under the staging's identity (list, version, stagedAt), and dropped
 * after DECISION_KEEP_MS by an alarm: by then the switch or discard has long finished.
 */
import { DurableObject } from "cloudflare:workers";
import type { DecideStaged, StagedOutcome, StagedVersion } from "../lists/staged.ts";
import { stagingOf } from "../lists/staged.ts";

/** How long a settled outcome is kept (a retried switch or discard finds it). */
export const DECISION_KEEP_MS = 7 * 86_400_000;

interface Decision {
  outcome: StagedOutcome;
  at: number;
}

export class StagedDecisionObject extends DurableObject {
  /** The outcome of `staging`: `outcome` when it is the first to ask, else the one settled before. */
  async decide(staging: string, outcome: StagedOutcome): Promise<StagedOutcome> {
    if (outcome !== "switched" && outcome !== "discarded") throw new Error(`unknown outcome ${outcome}`);
    // No await between the read and the write but storage's own: the object's input gate keeps
    // other calls out until both are done.
    const prior = await this.ctx.storage.get<Decision>(staging);
    if (prior) return prior.outcome;
    await this.ctx.storage.put(staging, { outcome, at: Date.now() } satisfies Decision);
    if ((await this.ctx.storage.getAlarm()) === null)
      await this.ctx.storage.setAlarm(Date.now() + DECISION_KEEP_MS);
    return outcome;
  }

  override async alarm(): Promise<void> {
    const old = Date.now() - DECISION_KEEP_MS;
    const all = await this.ctx.storage.list<Decision>();
    const gone = [...all].filter(([, d]) => d.at <= old).map(([k]) => k);
    // storage.delete takes at most 128 keys at once.
    for (let i = 0; i < gone.length; i += 128) await this.ctx.storage.delete(gone.slice(i, i + 128));
    if (all.size > gone.length) await this.ctx.storage.setAlarm(Date.now() + DECISION_KEEP_MS);
  }
}

/** The binding as the switch and discard use it (structural, for tests that stand in for it). */
export interface StagedDecisionNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): { decide(staging: string, outcome: StagedOutcome): Promise<StagedOutcome> };
}

/** `decide` for switchStaged / discardStaged through the gate's decision object; none without the binding. */
export function stagedDecider(ns: StagedDecisionNamespace | undefined): DecideStaged | undefined {
  if (!ns) return undefined;
  return (s: StagedVersion, outcome: StagedOutcome) =>
    ns.get(ns.idFromName(`staged:${s.listId}`)).decide(stagingOf(s), outcome);
}
