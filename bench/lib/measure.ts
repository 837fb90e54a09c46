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
}

export interface CaseResult {
  name: string;
  bytes: number;
  directMs: number[];
  gateMs: number[];
  /** workerd CPU charged to the gate requests (idle subtracted), ms. */
  gateCpuMs: number;
  wallMs: number;
}

const MIN_ITERATIONS = 3;

export interface Probe {
  direct: Target;
  gate: Target;
  workerdPids: number[];
  /** workerd CPU ms per wall ms when idle. */
  idleCpuPerMs: number;
  /** performance.now() after which every case stops at MIN_ITERATIONS (the run's time bound). */
  deadline: number;
}

export async function runCase(spec: CaseSpec, probe: Probe): Promise<CaseResult> {
  let counter = Math.floor(Math.random() * 2 ** 40);
  const send = async (t: Target, gateSide: boolean) => {
    if (spec.unique) stamp(spec.payload, counter++);
    const r = await timedPost(t.agent, t.url + spec.path, spec.payload);
    const problem = gateSide ? spec.expect(r) : r.status === 200 ? null : `origin answered ${r.status}`;
    if (problem) throw new Error(`${spec.name}: ${gateSide ? "gate" : "direct"}: ${problem}`);
    return r.ms;
  };
  for (let i = 0; i < spec.warmup; i++) {
    if (spec.direct) await send(probe.direct, false);
    await send(probe.gate, true);
  }
  const directMs: number[] = [];
  const gateMs: number[] = [];
  const cpu0 = cpuMs(probe.workerdPids);
  const t0 = performance.now();
  for (let i = 0; i < spec.iterations; i++) {
    const now = performance.now();
    if (i >= MIN_ITERATIONS && (now - t0 > spec.budgetMs || now > probe.deadline)) break;
    // Alternate which side goes first, so neither always follows the other's cleanup work.
    if (spec.direct && i % 2 === 0) directMs.push(await send(probe.direct, false));
    gateMs.push(await send(probe.gate, true));
    if (spec.direct && i % 2 === 1) directMs.push(await send(probe.direct, false));
  }
  const wallMs = performance.now() - t0;
  // No /proc (not Linux): CPU time unknown, shown as "-".
  const gateCpuMs =
    probe.workerdPids.length === 0
      ? Number.NaN
      : Math.max(0, cpuMs(probe.workerdPids) - cpu0 - probe.idleCpuPerMs * wallMs);
  return { name: spec.name, bytes: spec.payload.body.length, directMs, gateMs, gateCpuMs, wallMs };
}

/** workerd CPU per wall millisecond with no requests in flight. */
export async function idleCpuRate(pids: number[], sampleMs: number): Promise<number> {
  const c0 = cpuMs(pids);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, sampleMs));
  return (cpuMs(pids) - c0) / (performance.now() - t0);
}
