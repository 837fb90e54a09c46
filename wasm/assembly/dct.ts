// Steps 4-5 of PDQ: quality from the 64x64 buffer, and the 16x16 DCT B = D . A . D^T.

/** The 16x64 DCT matrix, float32, row-major; filled by initDct(). */
export const DCT_MATRIX: usize = memory.data(16 * 64 * 4, 16);
let dctReady = false;

/**
 * D[i][j] = float32(double(float32(sqrt(2/64))) * cos(pi/128 * (i+1) * (2j+1))), as the
 * reference builds it (the DC row is skipped). The stage tests compare it bit for bit with the
 * fixture matrix.
 */
export function initDct(): void {
  if (dctReady) return;
  const scale = <f64>(<f32>Math.sqrt(2.0 / 64.0));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      const v = scale * Math.cos((Math.PI / 128.0) * <f64>(i + 1) * <f64>(2 * j + 1));
      store<f32>(DCT_MATRIX + ((<usize>((i << 6) + j)) << 2), <f32>v);
    }
  }
  dctReady = true;
}

/**
 * Quality: for every vertical and horizontal neighbour pair d = trunc((u - v) * 100 / 255) in
 * float32; quality = min(100, floor(sum |d| / 90)).
 */
export function quality(buf: usize): i32 {
  let sum: i32 = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      const u = load<f32>(buf + ((<usize>((i << 6) + j)) << 2));
      const v = load<f32>(buf + ((<usize>(((i + 1) << 6) + j)) << 2));
      sum += abs(<i32>(((u - v) * <f32>100) / <f32>255));
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      const u = load<f32>(buf + ((<usize>((i << 6) + j)) << 2));
      const v = load<f32>(buf + ((<usize>((i << 6) + j + 1)) << 2));
      sum += abs(<i32>(((u - v) * <f32>100) / <f32>255));
    }
  }
  const q = sum / 90;
  return min(q, 100);
}

/**
 * B = D . A . D^T with float32 accumulation in order k = 0..63. `tmp` holds T = D . A (16x64).
 * The first product is vectorised over j; each lane still sums its products in k order.
 */
export function dct16(a: usize, tmp: usize, out: usize): void {
  initDct();
  for (let i = 0; i < 16; i++) {
    const trow = tmp + ((<usize>(i << 6)) << 2);
    for (let j = 0; j < 64; j += 4) {
      let acc = f32x4.splat(0);
      for (let k = 0; k < 64; k++) {
        const d = f32x4.splat(load<f32>(DCT_MATRIX + ((<usize>((i << 6) + k)) << 2)));
        acc = f32x4.add(acc, f32x4.mul(d, v128.load(a + ((<usize>((k << 6) + j)) << 2))));
      }
      v128.store(trow + ((<usize>j) << 2), acc);
    }
  }
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let acc: f32 = 0;
      for (let k = 0; k < 64; k++) {
        acc +=
          load<f32>(tmp + ((<usize>((i << 6) + k)) << 2)) *
          load<f32>(DCT_MATRIX + ((<usize>((j << 6) + k)) << 2));
      }
      store<f32>(out + ((<usize>((i << 4) + j)) << 2), acc);
    }
  }
}
