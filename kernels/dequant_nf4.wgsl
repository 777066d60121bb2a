// dequant_nf4: out[e] = CODE[code of element e] * absmax[e / BLOCK] for the n elements of a
// blockwise 4-bit tensor (bitsandbytes' dequantize_4bit): NF4 codes, or FP4 when FP4 is set.
// Codes: 8 per u32 word in bitsandbytes' byte layout (its packed uint8 tensor, read as words):
// byte k of word w holds element 8w + 2k in its high nibble and 8w + 2k + 1 in its low one.
// Tables: bitsandbytes csrc/kernels.cu nf4_dequantization_lut, and fp4_dequantization_lut for the
// magnitude with bit 3 as the sign.
// Bindings: params, codes: array<u32> [ceil(n / 8)] read, absmax: array<f32> [ceil(n / BLOCK)]
// read, out: array<T> [n] write (a weight [N, K] row-major, T the compute dtype).
// Params: n elements, words = ceil(n / 8). Split: 1-D, 256 threads per workgroup, x then y (see
// grid()); a thread expands one word into 8 elements.
alias T = f32;

struct Params { n: u32, words: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> codes: array<u32>;
@group(0) @binding(2) var<storage, read> absmax: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<T>;

override FP4: bool = false;
override BLOCK: u32 = 64u;

var<private> NF4_LUT: array<f32, 16> = array<f32, 16>(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
);
var<private> FP4_LUT: array<f32, 8> = array<f32, 8>(
  0.0, 0.005208333333, 0.66666667, 1.0, 0.33333333, 0.5, 0.16666667, 0.25,
);

fn decode(c: u32) -> f32 {
  if (FP4) {
    let v = FP4_LUT[c & 7u];
    return select(v, -v, (c & 8u) != 0u);
  }
  return NF4_LUT[c];
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = gid.x + gid.y * nwg.x * 256u;
  if (w >= p.words) { return; }
  let word = codes[w];
  for (var j = 0u; j < 8u; j++) {
    let e = 8u * w + j;
    if (e >= p.n) { return; }
    let shift = 8u * (j >> 1u) + select(4u, 0u, (j & 1u) == 1u); // even elements: high nibble
    out[e] = T(decode((word >> shift) & 15u) * absmax[e / BLOCK]);
  }
}
