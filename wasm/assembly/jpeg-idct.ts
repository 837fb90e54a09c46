// Reduced-size inverse DCTs: a block's 8x8 spectrum rendered as N x N pixels (N = 8, 4, 2, 1)
// from its top-left N x N coefficients. This is what makes a scaled decode cheap: for N = 1 the
// pixel is the DC term alone, and no coefficient outside the N x N corner is ever needed.
//
// pixel(x, y) = 128 + 1/4 * sum_{u,v < N} C(u) C(v) F(v, u) cos((2x+1)u pi / 2N) cos((2y+1)v pi / 2N)
// with C(0) = 1/sqrt(2), C(k) = 1: the 8-point IDCT of the standard for N = 8, and for smaller N
// the same sum over fewer terms, so every N keeps the block's mean (DC / 8 + 128). Separable:
// a pass along rows, then along columns, in float32 (SIMD for N = 8).

/** Dequantized coefficients of the current block, natural order, float32. */
export const BLOCK: usize = memory.data(64 * 4, 16);
const TMP: usize = memory.data(64 * 4, 16);
// MT[N][u][x] = C(u)/2 * cos((2x+1) u pi / 2N), row-major per N, for N = 1, 2, 4, 8 (8 x 8 slots each).
const MT: usize = memory.data(4 * 64 * 4, 16);
let ready = false;

function slotOf(n: i32): usize {
  return MT + ((<usize>(n === 1 ? 0 : n === 2 ? 1 : n === 4 ? 2 : 3)) << 8);
}

export function initIdct(): void {
  if (ready) return;
  for (let s = 0; s < 4; s++) {
    const n = 1 << s;
    const m = slotOf(n);
    for (let u = 0; u < n; u++) {
      const c = u === 0 ? Math.SQRT1_2 : 1.0;
      for (let x = 0; x < n; x++) {
        const v = (c / 2.0) * Math.cos(((2.0 * x + 1.0) * u * Math.PI) / (2.0 * n));
        store<f32>(m + <usize>((u * 8 + x) << 2), <f32>v);
      }
    }
  }
  ready = true;
}

function clampByte(v: f32): u8 {
  const r = <i32>Math.round(<f64>v);
  return <u8>(r < 0 ? 0 : Math.min(r, 255));
}

/**
 * Renders BLOCK as n x n pixels at `out` (row stride `stride` bytes). `rows`: bit v set when
 * row v of the spectrum has a non-zero coefficient (bit 0 alone: only the DC term may be
 * non-zero... or the first row), 0 or 1 with `acZero` meaning every pixel is the same.
 */
export function idctBlock(n: i32, acZero: bool, out: usize, stride: usize, rows: i32 = 0xff): void {
  if (n === 1 || acZero) {
    const p = clampByte(load<f32>(BLOCK) * 0.125 + 128.0);
    for (let y = 0; y < n; y++) memory.fill(out + <usize>y * stride, p, <usize>n);
    return;
  }
  if (n === 8) {
    idct8(out, stride, rows);
    return;
  }
  if (n === 2) {
    idct2(out, stride);
    return;
  }
  const m = slotOf(n);
  // Rows: TMP[v][x] = sum_u F[v][u] * MT[u][x].
  for (let v = 0; v < n; v++) {
    for (let x = 0; x < n; x++) {
      let s: f32 = 0;
      for (let u = 0; u < n; u++)
        s += load<f32>(BLOCK + <usize>((v * 8 + u) << 2)) * load<f32>(m + <usize>((u * 8 + x) << 2));
      store<f32>(TMP + <usize>((v * 8 + x) << 2), s);
    }
  }
  // Columns: out[y][x] = 128 + sum_v MT[v][y] * TMP[v][x].
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let s: f32 = 128.0;
      for (let v = 0; v < n; v++)
        s += load<f32>(m + <usize>((v * 8 + y) << 2)) * load<f32>(TMP + <usize>((v * 8 + x) << 2));
      store<u8>(out + <usize>y * stride + <usize>x, clampByte(s));
    }
  }
}

/**
 * N = 2 (scale 1/4, a 12 MP photo's): every MT[2] entry is +-1/(2 sqrt 2), so each pixel is
 * 128 + (F00 +- F01 +- F10 +- F11) / 8 — a 2x2 butterfly instead of the general loops, which
 * took a sixth of a 12 MP decode.
 */
function idct2(out: usize, stride: usize): void {
  const a = load<f32>(BLOCK);
  const b = load<f32>(BLOCK, 4);
  const c = load<f32>(BLOCK, 32);
  const d = load<f32>(BLOCK, 36);
  // Row y = 0 takes F0u + F1u, row y = 1 takes F0u - F1u; then column x = 0 adds u = 1, x = 1 subtracts it.
  const dc0 = a + c;
  const ac0 = b + d;
  const dc1 = a - c;
  const ac1 = b - d;
  store<u8>(out, clampByte((dc0 + ac0) * 0.125 + 128.0));
  store<u8>(out, clampByte((dc0 - ac0) * 0.125 + 128.0), 1);
  store<u8>(out + stride, clampByte((dc1 + ac1) * 0.125 + 128.0));
  store<u8>(out + stride, clampByte((dc1 - ac1) * 0.125 + 128.0), 1);
}

/**
 * The full 8x8 IDCT, four columns at a time; spectrum rows whose bit in `rows` is clear are
 * zero and skipped. Both passes split even and odd frequencies: MT[u][7 - x] = (-1)^u MT[u][x],
 * so outputs x and 7 - x are the even sum plus or minus the odd sum.
 */
function idct8(out: usize, stride: usize, rows: i32): void {
  const m = slotOf(8);
  // Rows: TMP[v][0..3] = E + O, TMP[v][7..4] = E - O, with E, O the even and odd u terms.
  for (let v = 0; v < 8; v++) {
    const at = TMP + <usize>(v << 5);
    if (((rows >> v) & 1) === 0) continue;
    const row = BLOCK + <usize>(v << 5);
    let e = f32x4.mul(f32x4.splat(load<f32>(row)), v128.load(m));
    e = f32x4.add(e, f32x4.mul(f32x4.splat(load<f32>(row, 8)), v128.load(m, 2 * 32)));
    e = f32x4.add(e, f32x4.mul(f32x4.splat(load<f32>(row, 16)), v128.load(m, 4 * 32)));
    e = f32x4.add(e, f32x4.mul(f32x4.splat(load<f32>(row, 24)), v128.load(m, 6 * 32)));
    let o = f32x4.mul(f32x4.splat(load<f32>(row, 4)), v128.load(m, 32));
    o = f32x4.add(o, f32x4.mul(f32x4.splat(load<f32>(row, 12)), v128.load(m, 3 * 32)));
    o = f32x4.add(o, f32x4.mul(f32x4.splat(load<f32>(row, 20)), v128.load(m, 5 * 32)));
    o = f32x4.add(o, f32x4.mul(f32x4.splat(load<f32>(row, 28)), v128.load(m, 7 * 32)));
    v128.store(at, f32x4.add(e, o));
    const d = f32x4.sub(e, o);
    v128.store(at, v128.shuffle<f32>(d, d, 3, 2, 1, 0), 16);
  }
  // Columns: out[y] = E_y + O_y, out[7 - y] = E_y - O_y over the spectrum rows v.
  const bias = f32x4.splat(128.0);
  for (let y = 0; y < 4; y++) {
    let elo = bias;
    let ehi = bias;
    let olo = f32x4.splat(0);
    let ohi = f32x4.splat(0);
    for (let v = 0; v < 8; v++) {
      if (((rows >> v) & 1) === 0) continue;
      const c = f32x4.splat(load<f32>(m + <usize>((v * 8 + y) << 2)));
      const t = TMP + <usize>(v << 5);
      if ((v & 1) === 0) {
        elo = f32x4.add(elo, f32x4.mul(c, v128.load(t)));
        ehi = f32x4.add(ehi, f32x4.mul(c, v128.load(t, 16)));
      } else {
        olo = f32x4.add(olo, f32x4.mul(c, v128.load(t)));
        ohi = f32x4.add(ohi, f32x4.mul(c, v128.load(t, 16)));
      }
    }
    storeRow(out + <usize>y * stride, f32x4.add(elo, olo), f32x4.add(ehi, ohi));
    storeRow(out + <usize>(7 - y) * stride, f32x4.sub(elo, olo), f32x4.sub(ehi, ohi));
  }
}

/** Rounds, clamps to 0..255 and stores 8 pixels. */
function storeRow(at: usize, lo: v128, hi: v128): void {
  const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(lo));
  const b = i32x4.trunc_sat_f32x4_s(f32x4.nearest(hi));
  const w = i16x8.narrow_i32x4_s(a, b);
  const bytes = i8x16.narrow_i16x8_u(w, w);
  store<u64>(at, i64x2.extract_lane(bytes, 0));
}
