/**
 * `npm run bench -- pdq-scale [--size=N] [--queries=Q] [--workerd]`: the sharded PDQ index at list scale,
 * in Node with the code the shard objects run (src/pdq-shards/mih.ts), against brute force
 * (the in-isolate WASM PdqIndex) over the same hashes in the same run.
 *
 * N random 256-bit hashes (default 10,000,000; test data, not a real list) are cut into shards
 * of MAX_SHARD_ENTRIES (700,000), one per shard object. Q queries of 8 random hashes each (an
 * image's dihedral set); every query has a near-match planted at a known distance 0..40 of one
 * of its 8 hashes, at a random position. Printed: build time and memory per shard; query
 * latency p50/p99 of one shard (what each object spends; the gate asks all objects in
 * parallel, so a query costs the slowest shard plus the round trip) and of all shards one
 * after another on this one core; brute force's latency and the ratio; and whether every
 * query's merged answer equals brute force's (distance, entry, dihedral).
 *
 * --workerd then runs the same hashes and queries through real PDQ shard objects in workerd
 * (bench/lib/pdq-shards-workerd.ts): the publish's build of every object; the gate's fan-out
 * (queryShards), one query per request as the gate makes it, each request paired with a no-op
 * request of the same body so that the gate's latency (the pair's difference) and the bench's
 * own dispatch are both printed from the same run; the same fan-out k times inside one request
 * (no dispatch at all), in parallel and with the objects asked one after another; one object
 * alone (what each object costs the gate when objects run on separate machines); workerd's CPU
 * and memory; and the answers against the brute force above. Batches always hold distinct
 * queries: one query repeated finds its buckets in the CPU's caches and costs half (printed
 * apart). The objects are kept from eviction (see the lib) and checked to have built once.
 */
import { randomFillSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { bytesToHex } from "../src/pdq/core.ts";
import { PdqIndex } from "../src/pdq/index.ts";
import { MAX_SHARD_ENTRIES } from "../src/pdq/shard.ts";
import { MihIndex } from "../src/pdq-shards/mih.ts";
import { type PdqShardHit, type PdqShardStats, startShardWorkerd } from "./lib/pdq-shards-workerd.ts";
import { workerdQueryMs } from "./lib/pdq-workerd.ts";
import { fixed, median, percentile, renderTable } from "./lib/stats.ts";

const CORE = new WebAssembly.Module(readFileSync(new URL("../wasm/build/core.wasm", import.meta.url)));
const THRESHOLD = 31;

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const v = arg ? Number(arg.slice(name.length + 3)) : fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`--${name} must be a positive whole number`);
  return v;
}

const size = option("size", 10_000_000);
const queryCount = option("queries", 200);
/**
 * Entries per shard object. Smaller than the production MAX_SHARD_ENTRIES only to measure the
 * fan-out itself: e.g. --size=15000 --per-shard=1000 gives 15 objects whose search is trivial,
 * so what the gate pays per object is the RPC path, in seconds instead of a 3 GB run.
 */
const perShard = option("per-shard", MAX_SHARD_ENTRIES);
if (perShard > MAX_SHARD_ENTRIES) throw new Error(`--per-shard is at most ${MAX_SHARD_ENTRIES}`);
const inWorkerd = process.argv.includes("--workerd");

/** Flips exactly `bits` distinct bits of the 32 bytes at `at`. */
function flipBits(bytes: Uint8Array, at: number, bits: number): void {
  const picked = new Set<number>();
  while (picked.size < bits) picked.add(Math.floor(Math.random() * 256));
  for (const b of picked) bytes[at + (b >> 3)]! ^= 1 << (b & 7);
}

interface Answer {
  /** Position in the whole list. */
  entry: number;
  distance: number;
  dihedral: number;
}

function mergeBest(a: Answer | null, b: Answer | null): Answer | null {
  if (!a) return b;
  if (!b) return a;
  return b.distance < a.distance || (b.distance === a.distance && b.entry < a.entry) ? b : a;
}

async function main(): Promise<void> {
  const started = performance.now();
  const hashes = new Uint8Array(size * 32);
  for (let i = 0; i < hashes.length; i += 65536)
    randomFillSync(hashes, i, Math.min(65536, hashes.length - i));
  const queries = Array.from({ length: queryCount }, () => {
    const q = new Uint8Array(8 * 32);
    randomFillSync(q);
    return q;
  });
  const planted: { entry: number; distance: number }[] = [];
  const taken = new Set<number>();
  for (const [i, q] of queries.entries()) {
    // Distinct entries: a second plant at the same entry would overwrite the first (small --size).
    let entry = Math.floor(Math.random() * size);
    while (taken.has(entry)) entry = Math.floor(Math.random() * size);
    taken.add(entry);
    const distance = i % 41;
    hashes.set(q.subarray((i % 8) * 32, (i % 8) * 32 + 32), entry * 32);
    flipBits(hashes, entry * 32, distance);
    planted.push({ entry, distance });
  }
  console.log(
    `pdq-scale: ${size.toLocaleString("en")} random hashes, ${queryCount} queries of 8, threshold ${THRESHOLD}`,
  );
  console.log(`  generated in ${fixed((performance.now() - started) / 1000, 1)} s`);

  const shardCount = Math.ceil(size / perShard);
  const mih: MihIndex[] = [];
  const brute: PdqIndex[] = [];
  const buildMs: number[] = [];
  for (let s = 0; s < shardCount; s++) {
    const from = s * perShard;
    const n = Math.min(perShard, size - from);
    const part = hashes.subarray(from * 32, (from + n) * 32);
    const ids = Uint32Array.from({ length: n }, (_, i) => from + i);
    const t0 = performance.now();
    mih.push(MihIndex.build(CORE, part, ids));
    buildMs.push(performance.now() - t0);
    const b = PdqIndex.fromModule(CORE);
    b.load([{ hashes: part, ids }]);
    brute.push(b);
  }

  // Tier-up: the JIT compiles the search loop before anything is timed.
  const warm = new Uint8Array(8 * 32);
  for (let i = 0; i < 30; i++) {
    randomFillSync(warm);
    for (const index of mih) index.best(warm, THRESHOLD);
  }
  const shardMs: number[] = [];
  const allMih: number[] = [];
  const allBrute: number[] = [];
  // CPU time as well as wall time: on a shared machine the wall clock includes waiting for a core.
  let mihCpuUs = 0;
  let bruteCpuUs = 0;
  let identical = 0;
  let found = 0;
  const bruteAnswers: (Answer | null)[] = [];
  const mismatches: string[] = [];
  for (const [qi, q] of queries.entries()) {
    const hex = Array.from({ length: 8 }, (_, j) => bytesToHex(q.subarray(j * 32, j * 32 + 32)));
    let mine: Answer | null = null;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (const [s, index] of mih.entries()) {
      const ts = performance.now();
      const m = index.best(q, THRESHOLD);
      shardMs.push(performance.now() - ts);
      mine = mergeBest(mine, m && { entry: s * perShard + m.index, distance: m.distance, dihedral: m.query });
    }
    allMih.push(performance.now() - t0);
    const c1 = process.cpuUsage(c0);
    mihCpuUs += c1.user + c1.system;
    let theirs: Answer | null = null;
    const t1 = performance.now();
    const c2 = process.cpuUsage();
    for (const [s, index] of brute.entries()) {
      const m = index.query(hex, THRESHOLD);
      theirs = mergeBest(
        theirs,
        m && { entry: s * perShard + m.index, distance: m.distance, dihedral: m.dihedral },
      );
    }
    allBrute.push(performance.now() - t1);
    const c3 = process.cpuUsage(c2);
    bruteCpuUs += c3.user + c3.system;
    bruteAnswers.push(theirs);
    if (JSON.stringify(mine) === JSON.stringify(theirs)) identical++;
    else mismatches.push(`query ${qi}: mih ${JSON.stringify(mine)} brute ${JSON.stringify(theirs)}`);
    const p = planted[qi]!;
    if (p.distance <= THRESHOLD && mine && mine.distance <= p.distance) found++;
  }
  const plantedWithin = planted.filter((p) => p.distance <= THRESHOLD).length;

  const perShardBytes = mih.map((m) => m.memoryBytes());
  const ms = (x: number) => fixed(x, 2);
  const p50 = percentile(shardMs, 50);
  const p99 = percentile(shardMs, 99);
  console.log(
    renderTable(
      ["measure", "multi-index", "brute force", "brute / multi-index"],
      [
        [
          "one shard, p50 ms",
          ms(p50),
          ms(percentile(allBrute, 50) / shardCount),
          fixed(percentile(allBrute, 50) / shardCount / p50, 1),
        ],
        ["one shard, p99 ms", ms(p99), "", ""],
        [
          `all ${shardCount} shards in turn, p50 ms`,
          ms(percentile(allMih, 50)),
          ms(percentile(allBrute, 50)),
          fixed(percentile(allBrute, 50) / percentile(allMih, 50), 1),
        ],
        [
          `all ${shardCount} shards in turn, p99 ms`,
          ms(percentile(allMih, 99)),
          ms(percentile(allBrute, 99)),
          fixed(percentile(allBrute, 99) / percentile(allMih, 99), 1),
        ],
        [
          "one shard, mean CPU ms",
          ms(mihCpuUs / 1000 / queryCount / shardCount),
          ms(bruteCpuUs / 1000 / queryCount / shardCount),
          fixed(bruteCpuUs / mihCpuUs, 1),
        ],
        ["build per shard, ms (max)", ms(Math.max(...buildMs)), "", ""],
        [
          "memory per shard, MB (max)",
          fixed(Math.max(...perShardBytes) / 1e6, 1),
          fixed(Math.max(...brute.map((b) => b.memoryBytes())) / 1e6, 1),
          "",
        ],
      ],
    ),
  );
  const verdict = (ok: boolean) => (ok ? "ok  " : "MISS");
  console.log(
    `  load average ${loadavg()
      .map((l) => fixed(l, 1))
      .join(" ")} on ${cpus().length} cores`,
  );
  console.log(`${verdict(p50 <= 5)} one shard p50 ≤ 5 ms: ${ms(p50)} ms`);
  console.log(`${verdict(p99 <= 20)} one shard p99 ≤ 20 ms: ${ms(p99)} ms`);
  console.log(
    `${verdict(identical === queryCount)} answers identical to brute force: ${identical}/${queryCount}`,
  );
  console.log(
    `${verdict(found === plantedWithin)} planted matches within ${THRESHOLD} found: ${found}/${plantedWithin}`,
  );
  for (const m of mismatches.slice(0, 5)) console.log(`  ${m}`);
  if (identical !== queryCount) process.exitCode = 1;
  if (inWorkerd) {
    // Node's own indexes (1.5 GB at 10 M) are done with: their answers are kept, workerd needs the room.
    mih.length = 0;
    brute.length = 0;
    await viaWorkerd(hashes, queries, planted, bruteAnswers, bruteCpuUs / 1000 / queryCount / shardCount);
  }
}

function hexQuery(q: Uint8Array): string[] {
  return Array.from({ length: 8 }, (_, j) => bytesToHex(q.subarray(j * 32, j * 32 + 32)));
}

/** Queries in batches of `k`: one request each, distinct hashes (never one query repeated). */
function batches(queries: Uint8Array[], k: number): string[][][] {
  const out: string[][][] = [];
  for (let i = 0; i + k <= queries.length; i += k) out.push(queries.slice(i, i + k).map(hexQuery));
  return out;
}

async function viaWorkerd(
  hashes: Uint8Array,
  queries: Uint8Array[],
  planted: { entry: number; distance: number }[],
  brute: (Answer | null)[],
  bruteCpuMs: number,
): Promise<void> {
  const t0 = performance.now();
  const w = await startShardWorkerd(hashes, perShard);
  const { list } = w;
  const shards = list.pdqShards!;
  try {
    console.log(`\nthrough PDQ shard objects in workerd (Miniflare), ${shards} objects`);
    console.log(
      `  workerd started and ${shards} sealed shards stored in ${fixed((performance.now() - t0) / 1000, 1)} s`,
    );
    const rss0 = w.rssBytes();
    // One object alone, then what a publish does: every object at once (2 cores here).
    const one = await w.call<PdqShardStats>("/load", { list, shard: 0 });
    const cpuBuild = w.cpuMs();
    const all = await w.call<PdqShardStats[]>("/build", { list });
    const buildCpuPer = (w.cpuMs() - cpuBuild) / Math.max(1, shards - 1);
    const rssPer = (w.rssBytes() - rss0) / shards;
    console.log(
      `  workerd RSS: ${fixed(rss0 / 1e6, 0)} MB with the shards stored, ${fixed(w.rssBytes() / 1e6, 0)} MB with every object built`,
    );
    // Tier-up: the objects' search and the RPC path run before anything is timed.
    for (let i = 0; i < 10; i++)
      await w.call("/query", { list, hashes: hexQuery(queries[i % queries.length]!) });

    // One gate query per request, as the gate makes one per upload, each right after a no-op
    // request with the same body (the bench's own dispatch, measured beside it in the same run):
    // the gate's latency is the pair's difference, its CPU the difference of the sums.
    const request: number[] = [];
    const dispatch: number[] = [];
    const gate: number[] = [];
    let gateCpu = 0;
    let dispatchCpu = 0;
    let identical = 0;
    let found = 0;
    const mismatches: string[] = [];
    for (const [qi, q] of queries.entries()) {
      const body = { list, hashes: hexQuery(q) };
      const c0 = w.cpuMs();
      const noop = await w.call("/noop", body);
      const c1 = w.cpuMs();
      const { ms, answer } = await w.call<PdqShardHit | null>("/query", body);
      gateCpu += w.cpuMs() - c1;
      dispatchCpu += c1 - c0;
      dispatch.push(noop.ms);
      request.push(ms);
      gate.push(ms - noop.ms);
      const mine = answer && { entry: answer.id, distance: answer.distance, dihedral: answer.dihedral };
      if (JSON.stringify(mine) === JSON.stringify(brute[qi])) identical++;
      else mismatches.push(`query ${qi}: objects ${JSON.stringify(mine)} brute ${JSON.stringify(brute[qi])}`);
      const p = planted[qi]!;
      if (p.distance <= THRESHOLD && mine && mine.distance <= p.distance) found++;
    }
    gateCpu = (gateCpu - dispatchCpu) / queries.length;
    dispatchCpu /= queries.length;

    // Per query inside one request (no dispatch at all): wall and CPU of a batch of k distinct
    // queries minus an empty request with the same body, divided by k. Median over batches.
    const k = Math.min(40, queries.length);
    // CPU is summed over every batch before dividing: /proc counts in 10 ms ticks.
    const sample = async (path: string, extra: object, times = 1) => {
      const wall: number[] = [];
      let cpu = 0;
      let n = 0;
      for (const qs of batches(queries, k)) {
        const body = { list, shard: 0, queries: qs, times, ...extra };
        const c0 = w.cpuMs();
        const full = await w.call(path, body);
        const c1 = w.cpuMs();
        const none = await w.call("/noop", body);
        wall.push((full.ms - none.ms) / (k * times));
        cpu += c1 - c0 - (w.cpuMs() - c1);
        n += k * times;
      }
      return { wall: median(wall), cpu: cpu / n };
    };
    const inRequest = await sample("/gate-batch", {});
    const serial = await sample("/serial-batch", {});
    // The fan-out's own cost per object: the same gate queries at threshold 0, where each object's
    // search visits 16 buckets per hash instead of 272 (and no planted match is near enough), and
    // the round trips alone (held() on every object, nothing sent, nothing searched).
    const trivial = await sample("/gate-batch", { list: { ...list, pdqThreshold: 0 } });
    // The same as an animation's frames: one upload asking 40 times reuses its stubs.
    const frames = await sample("/frames-batch", { list: { ...list, pdqThreshold: 0 } });
    const fanPing = await sample("/fanout-ping-batch", {});
    const oneBatch = await sample("/one-batch", {});
    // Ten round trips per query: one costs about a tick of /proc's clock per hundred.
    const ping = await sample("/ping-batch", {}, 10);
    // The former figure: one query repeated k times, its buckets in the CPU's caches after the first.
    const repeated = await sample("/one-batch", { queries: Array(k).fill(hexQuery(queries[0]!)) });
    // One object, one query per request, less its paired dispatch.
    const single: number[] = [];
    for (const q of queries) {
      const body = { list, shard: 0, hashes: hexQuery(q) };
      const noop = await w.call("/noop", body);
      single.push((await w.call("/one", body)).ms - noop.ms);
    }
    // Brute force in workerd too, over a shard's worth of random hashes (bench/lib/pdq-workerd.ts).
    const bruteSize = Math.min(perShard, hashes.length / 32);
    const bruteWorkerd = (await workerdQueryMs([bruteSize], [8])).get(`${bruteSize}:8`)!;
    // Every object still holds the index it built at the start: no figure above includes a rebuild.
    const after = await Promise.all(
      Array.from(
        { length: shards },
        async (_, shard) => (await w.call<PdqShardStats | null>("/held", { list, shard })).answer,
      ),
    );
    const rebuilt = after.filter(
      (s) => s?.builtAt !== all.answer[s?.shard ?? 0]?.builtAt || s?.builds !== 1,
    ).length;
    const search = oneBatch.wall - ping.wall;
    const plantedWithin = planted.filter((p) => p.distance <= THRESHOLD).length;
    const ms = (x: number) => fixed(x, 2);
    const p50 = percentile(gate, 50);
    const p99 = percentile(gate, 99);
    const o50 = percentile(single, 50);
    const o99 = percentile(single, 99);
    console.log(
      renderTable(
        ["measure (workerd)", "shard objects", "brute force, one shard", "brute / objects"],
        [
          [`gate query, ${shards} objects, p50 ms (request minus its dispatch)`, ms(p50), "", ""],
          [`gate query, ${shards} objects, p99 ms (request minus its dispatch)`, ms(p99), "", ""],
          [
            "  the request timed from Node, p50 / p99 ms",
            `${ms(percentile(request, 50))} / ${ms(percentile(request, 99))}`,
            "",
            "",
          ],
          [
            "  the bench's dispatch (no-op request), p50 / p99 ms",
            `${ms(percentile(dispatch, 50))} / ${ms(percentile(dispatch, 99))}`,
            "",
            "",
          ],
          [`gate query in a request of ${k}, mean wall ms (no dispatch)`, ms(inRequest.wall), "", ""],
          [`  objects asked one after another, mean wall ms`, ms(serial.wall), "", ""],
          ["workerd CPU per gate query, ms (request minus no-op)", ms(gateCpu), "", ""],
          [`workerd CPU per gate query in a request of ${k}, ms`, ms(inRequest.cpu), "", ""],
          ["workerd CPU of the bench's dispatch (no-op request), ms", ms(dispatchCpu), "", ""],
          [
            `  per object, the gate query at threshold 0 (search ~nil), CPU / wall ms`,
            `${ms(trivial.cpu / shards)} / ${ms(trivial.wall / shards)}`,
            "",
            "",
          ],
          [
            `  the same as the frames of one upload (stubs reused), CPU / wall ms`,
            `${ms(frames.cpu / shards)} / ${ms(frames.wall / shards)}`,
            "",
            "",
          ],
          [
            `  per object, the fan-out's round trips alone (held()), CPU / wall ms`,
            `${ms(fanPing.cpu / shards)} / ${ms(fanPing.wall / shards)}`,
            "",
            "",
          ],
          ["one object, p50 ms (request minus its dispatch)", ms(o50), "", ""],
          ["one object, p99 ms (request minus its dispatch)", ms(o99), "", ""],
          [`one object, per query in a request of ${k}, wall ms`, ms(oneBatch.wall), "", ""],
          ["  of which the RPC round trip alone (held()), wall ms", ms(ping.wall), "", ""],
          ["  of which the RPC round trip alone (held()), CPU ms", ms(ping.cpu), "", ""],
          [
            "one object's search, wall ms (batch minus RPC; brute: workerd)",
            ms(search),
            ms(bruteWorkerd),
            fixed(bruteWorkerd / search, 1),
          ],
          [
            `one object, per query in a request of ${k}, CPU ms (brute: Node)`,
            ms(oneBatch.cpu),
            ms(bruteCpuMs),
            fixed(bruteCpuMs / oneBatch.cpu, 1),
          ],
          [
            `  one query repeated ${k} times (cache-hot), wall / CPU ms`,
            `${ms(repeated.wall)} / ${ms(repeated.cpu)}`,
            "",
            "",
          ],
          ["build, one object alone (KV read + index), ms", ms(one.ms), "", ""],
          [`build, all ${shards} objects (publish), wall ms`, ms(all.ms), "", ""],
          ["build, CPU per object, ms", ms(buildCpuPer), "", ""],
          [
            "memory per object, MB (index)",
            fixed(Math.max(...all.answer.map((s) => s.memoryBytes)) / 1e6, 1),
            "",
            "",
          ],
          ["memory per object, MB (workerd RSS growth / objects)", fixed(rssPer / 1e6, 1), "", ""],
        ],
      ),
    );
    const verdict = (ok: boolean) => (ok ? "ok  " : "MISS");
    console.log(
      `  load average ${loadavg()
        .map((l) => fixed(l, 1))
        .join(
          " ",
        )} on ${cpus().length} cores; builds per object: ${[...new Set(all.answer.map((s) => s.builds))].join(",")}`,
    );
    console.log(`${verdict(rebuilt === 0)} objects rebuilt during the queries: ${rebuilt}/${shards}`);
    const where = `objects one after another on workerd's one thread here`;
    // A difference smaller than the dispatch's own spread says nothing: no verdict then.
    const spread = percentile(dispatch, 75) - percentile(dispatch, 25);
    const judged = (ok: boolean, x: number) => (x <= spread ? "??? " : verdict(ok));
    const noisy = (x: number) =>
      x <= spread ? ` (within the dispatch's spread, ${ms(spread)} ms: machine too busy)` : "";
    const line = (ok: boolean, x: number, what: string) =>
      console.log(`${judged(ok, x)} ${what}: ${ms(x)} ms${noisy(x)}`);
    line(p50 <= 5, p50, `gate p50 ≤ 5 ms (${where})`);
    line(p99 <= 20, p99, `gate p99 ≤ 20 ms (${where})`);
    line(o50 <= 5, o50, "one object p50 ≤ 5 ms (objects on separate machines)");
    line(o99 <= 20, o99, "one object p99 ≤ 20 ms (objects on separate machines)");
    line(o50 <= 1, o50, "moonshot: one object p50 ≤ 1 ms");
    console.log(
      `${verdict(identical === queries.length)} answers identical to brute force: ${identical}/${queries.length}`,
    );
    console.log(
      `${verdict(found === plantedWithin)} planted matches within ${THRESHOLD} found: ${found}/${plantedWithin}`,
    );
    for (const m of mismatches.slice(0, 5)) console.log(`  ${m}`);
    if (identical !== queries.length) process.exitCode = 1;
  } finally {
    await w.dispose();
  }
}

await main();
