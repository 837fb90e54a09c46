// Steps 6-8 of PDQ: median threshold, bit layout, and the 8 dihedral variants.
//
// A hash is stored as 32 bytes in the order of its hex string: the 256 bits form a big-endian
// number whose bit k (value 2^k) is B[k/16][k%16], so bit k lives in byte 31 - k/8, bit k%8.

/** Lower median of 256 float32 values (sorted[127]); `scratch` receives a sorted copy. */
export function median256(values: usize, scratch: usize): f32 {
  memory.copy(scratch, values, 256 * 4);
  // Insertion sort: 256 elements, once per variant; simple and allocation-free.
  for (let i = 1; i < 256; i++) {
    const v = load<f32>(scratch + ((<usize>i) << 2));
    let j = i - 1;
    while (j >= 0 && load<f32>(scratch + ((<usize>j) << 2)) > v) {
      store<f32>(scratch + ((<usize>(j + 1)) << 2), load<f32>(scratch + ((<usize>j) << 2)));
      j--;
    }
    store<f32>(scratch + ((<usize>(j + 1)) << 2), v);
  }
  return load<f32>(scratch + (127 << 2));
}

/** Sets bit k where values[k] > median (strict); writes 32 bytes to `out`. */
export function thresholdBits(values: usize, median: f32, out: usize): void {
  memory.fill(out, 0, 32);
  for (let k = 0; k < 256; k++) {
    if (load<f32>(values + ((<usize>k) << 2)) > median) {
      const byte = out + <usize>(31 - (k >> 3));
      store<u8>(byte, load<u8>(byte) | ((<u8>1) << (<u8>(k & 7))));
    }
  }
}

/**
 * Writes dihedral variant `which` of the 16x16 DCT `a` into `b` (0 orig, 1 rot90, 2 rot180,
 * 3 rot270, 4 flipX, 5 flipY, 6 flipPlus1, 7 flipMinus1). Rotations are counter-clockwise;
 * flipX swaps top and bottom. Each is a sign pattern and possibly a transpose of the DCT.
 */
export function dihedral(a: usize, which: i32, b: usize): void {
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const v = load<f32>(a + ((<usize>((i << 4) + j)) << 2));
      let neg = false;
      let transpose = false;
      if (which === 1) {
        transpose = true;
        neg = (j & 1) === 0;
      } else if (which === 2) {
        neg = ((i + j) & 1) === 1;
      } else if (which === 3) {
        transpose = true;
        neg = (i & 1) === 0;
      } else if (which === 4) {
        neg = (i & 1) === 0;
      } else if (which === 5) {
        neg = (j & 1) === 0;
      } else if (which === 6) {
        transpose = true;
      } else if (which === 7) {
        transpose = true;
        neg = ((i + j) & 1) === 1;
      }
      const dst = transpose ? (j << 4) + i : (i << 4) + j;
      store<f32>(b + ((<usize>dst) << 2), neg ? -v : v);
    }
  }
}
