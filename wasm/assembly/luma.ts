// Step 1 of PDQ: luma in float32. The reference evaluates 0.299*R + 0.587*G + 0.114*B with
// float32 coefficients, left to right, each product rounded to float32 (no fused multiply-add);
// wasm f32 arithmetic does exactly that. Grey passes through; alpha is ignored, not composited.

const KR: f32 = 0.299;
const KG: f32 = 0.587;
const KB: f32 = 0.114;

/** Writes the luma of the pixel row at `row` (`w` pixels of `channels` bytes) to `out` (float32). */
export function lumaRow(row: usize, w: i32, channels: i32, out: usize): void {
  let p = row;
  if (channels === 1) {
    for (let x = 0; x < w; x++) {
      store<f32>(out + ((<usize>x) << 2), <f32>load<u8>(p + <usize>x));
    }
    return;
  }
  for (let x = 0; x < w; x++) {
    const r = <f32>load<u8>(p);
    const g = <f32>load<u8>(p, 1);
    const b = <f32>load<u8>(p, 2);
    store<f32>(out + ((<usize>x) << 2), KR * r + KG * g + KB * b);
    p += <usize>channels;
  }
}
