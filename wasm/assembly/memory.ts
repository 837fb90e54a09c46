// Raw linear-memory management. The module runs with the stub runtime and no GC objects cross
// the boundary: fixed-size buffers are static data segments, and everything whose size depends
// on the input (pixels, blur workspace, a search index) lives in one dynamic region that starts
// at __heap_base and grows on demand. Memory is never shrunk: wasm cannot, and an isolate that
// hashed one large image will likely hash another.

const PAGE: usize = 65536;

/** Start of the dynamic region, 16-byte aligned so SIMD loads stay aligned. */
export function dynamicBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

/** Makes sure linear memory extends to at least `end` bytes; returns false if it cannot grow. */
export function ensureMemory(end: usize): bool {
  const have = <usize>memory.size() * PAGE;
  if (end <= have) return true;
  const pages = <i32>((end - have + PAGE - 1) / PAGE);
  return memory.grow(pages) >= 0;
}

/** Rounds a byte count up to a multiple of 16. */
export function align16(n: usize): usize {
  return (n + 15) & ~(<usize>15);
}
