/** Starts the benchmark origin (origin-server.ts) as a child process on loopback. */
import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";

export interface OriginStats {
  [path: string]: { requests: number; bytes: number };
}

export interface Origin {
  url: string;
  pid: number;
  stats(): Promise<OriginStats>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

export async function startOrigin(): Promise<Origin> {
  const child: ChildProcess = fork(join(import.meta.dirname, "origin-server.ts"), [], {
    execPath: process.execPath,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("origin did not start")), START_TIMEOUT_MS);
    child.once("message", (m) => {
      clearTimeout(timer);
      resolve((m as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`origin exited early (${code})`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    pid: child.pid!,
    stats: async () => (await (await fetch(`${url}/__stats`)).json()) as OriginStats,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.disconnect();
      }),
  };
}
