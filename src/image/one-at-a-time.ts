/**
 * One image decoded and hashed at a time per isolate. A decoded image is big (decoding a
 * 12-megapixel JPEG peaks near 100 MB, bench/image-memory.ts, against an isolate's 128 MB), and
 * an isolate serves many requests at once: without this, two uploads of photos at the same
 * moment would need twice that. Requests queue here instead, in arrival order; a task that
 * fails does not stop the ones behind it.
 */
let tail: Promise<unknown> = Promise.resolve();
let waiting = 0;

/** Runs `task` once every task queued before it has settled. */
export function oneImageAtATime<T>(task: () => Promise<T>): Promise<T> {
  waiting++;
  const run = tail.then(task);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  tail = settled;
  void settled.then(() => waiting--);
  return run;
}

/** Tasks queued or running (for tests and diagnostics). */
export function imagesInLine(): number {
  return waiting;
}
