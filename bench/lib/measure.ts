/**
 * Runs one benchmark case: sequential uploads alternating between the origin (direct) and the
 * gate, so drift in machine load hits both sides alike, while the gate's workerd CPU time is
 * read from /proc around the whole run and the idle rate is subtracted.
 */
import type { Agent } from "node:http";
import { type Timed, timedPost } from "./http-client.ts";
import { type Payload, stamp } from "./payloads.ts";
import { cpuMs } from "./proc-cpu.ts";

export interface Target {
  url: string;
  agent: Agent;
}

export interface CaseSpec {
  name: string;
  payload: Payload;
  /** Path requested on both targets (the origin keeps counts per path). */
  path: string;
  iterations: number;
  warmup: number;
  /** Stop early (after at least MIN_ITERATIONS) once the case has run this long. */
  budgetMs: number;
  /** Whether uploads go to the origin too (false: gate only, e.g. blocked uploads). */
  direct: boolean;
  /** Vary the body per request (fresh digests); false keeps a listed payload listed. */
  unique: boolean;
  /** What a correct gate answers. */
  expect: (r: Timed) => string | null;
  /** Path on the floor Worker (Probe.floor) to upload to as well, interleaved, if any. */
  floorPath?: string;
}

export interface CaseResult {
  name: string;
  bytes: number;
  directMs: number[];
  gateMs: number[];
  /** The same uploads to the floor Worker, interleaved with the others (empty if none). */
  floorMs: number[];
  /** workerd CPU charged to the gate requests (idle subtracted), ms. */
  gateCpuMs: number;
  wallMs: number;
}

const MIN_ITERATIONS = 3;

export interface Probe {
  direct: Target;
  gate: Target;
  /** The floor Worker (lib/floor-worker.js), for cases with a floorPath. Its CPU is not counted. */
  floor?: Target;
  workerdPids: number[];
  /** workerd CPU ms per wall ms when idle. */
  idleCpuPerMs: number;
  /** performance.now() after which every case stops at MIN_ITERATIONS (the run's time bound). */
  deadline: number;
}

export async function runCase(spec: CaseSpec, probe: Probe): Promise<CaseResult> {
  let counter = Math.floor(Math.random() * 2 ** 40);
  type Side = "direct" | "gate" | "floor";
  const send = async (side: Side) => {
    const t = side === "floor" ? probe.floor! : probe[side];
    const path = side === "floor" ? spec.floorPath! : spec.path;
    if (spec.unique) stamp(spec.payload, counter++);
    const r = await timedPost(t.agent, t.url + path, spec.payload);
    const problem =
      side === "gate"
        ? spec.expect(r)
        : r.status !== 200
          ? `answered ${r.status}`
          : r.text !== String(spec.payload.body.length)
            ? `origin received ${r.text} bytes, sent ${spec.payload.body.length}`
            : null;
    if (problem) throw new Error(`${spec.name}: ${side}: ${problem}`);
    return r.ms;
  };
  const sides: Side[] = [
    ...(spec.direct ? (["direct"] as const) : []),
    "gate",
    ...(spec.floorPath && probe.floor ? (["floor"] as const) : []),
  ];
  for (let i = 0; i < spec.warmup; i++) for (const side of sides) await send(side);
  const times: Record<Side, number[]> = { direct: [], gate: [], floor: [] };
  const cpu0 = cpuMs(probe.workerdPids);
  const t0 = performance.now();
  for (let i = 0; i < spec.iterations; i++) {
    const now = performance.now();
    if (i >= MIN_ITERATIONS && (now - t0 > spec.budgetMs || now > probe.deadline)) break;
    // Rotate which side goes first, so none always follows another's cleanup work.
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(i + k) % sides.length]!;
      times[side].push(await send(side));
    }
  }
  const { direct: directMs, gate: gateMs, floor: floorMs } = times;
  const wallMs = performance.now() - t0;
  // No /proc (not Linux): CPU time unknown, shown as "-".
  const gateCpuMs =
    probe.workerdPids.length === 0
      ? Number.NaN
      : Math.max(0, cpuMs(probe.workerdPids) - cpu0 - probe.idleCpuPerMs * wallMs);
  return { name: spec.name, bytes: spec.payload.body.length, directMs, gateMs, floorMs, gateCpuMs, wallMs };
}

/** workerd CPU per wall millisecond with no requests in flight. */
export async function idleCpuRate(pids: number[], sampleMs: number): Promise<number> {
  const c0 = cpuMs(pids);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, sampleMs));
  return (cpuMs(pids) - c0) / (performance.now() - t0);
}
