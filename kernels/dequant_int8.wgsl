// dequant_int8: out[e] = code[byte e of codes] * absmax[e / BLOCK] + p.offset for the n elements
// of a blockwise 8-bit tensor (bitsandbytes' dequantize_blockwise with its 256-entry code table,
// plus the offset its double quantization adds back). Two uses: int8 weights (a linear signed
// table, code[b] = int8(b) / 127, BLOCK 64, offset 0) and the 8-bit absmax of double-quantized
// 4-bit weights (bitsandbytes' dynamic map, BLOCK 256, offset = the mean absmax).
// Bindings: params, codes: array<u32> [ceil(n / 4)] read (byte k of word w is element 4w + k),
// absmax: array<f32> [ceil(n / BLOCK)] read, out: array<T> [n] write.
// Params: n elements, words = ceil(n / 4), offset, and the code table as 256 f32 bit patterns (a
// uniform: the tables are host constants, so no layer holds a copy). Split: 1-D, 256 threads per
// workgroup, x then y (see grid()); a thread expands one word into 4 elements.
alias T = f32;

struct Params { n: u32, words: u32, offset: f32, _p0: u32, code: array<vec4<u32>, 64> }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> codes: array<u32>;
@group(0) @binding(2) var<storage, read> absmax: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<T>;

override BLOCK: u32 = 64u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = gid.x + gid.y * nwg.x * 256u;
  if (w >= p.words) { return; }
  let word = codes[w];
  for (var k = 0u; k < 4u; k++) {
    let e = 4u * w + k;
    if (e >= p.n) { return; }
    let c = (word >> (8u * k)) & 255u;
    out[e] = T(bitcast<f32>(p.code[c >> 2u][c & 3u]) * absmax[e / BLOCK] + p.offset);
  }
}
