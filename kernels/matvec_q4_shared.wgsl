// matvec_q4_shared: c = a @ W^T straight from a blockwise 4-bit weight; the contract of
// matvec_q4.wgsl (bindings, Params, overrides, split) for devices without the `subgroups`
// feature: each row's partials combine through a shared-memory tree (WG a power of two, at most
// 128) instead of subgroupAdd.
// Bindings: params, a: array<vec4<T>> [M, K] read, codes: array<u32> [N K / 8] read, absmax:
// array<f32> [ceil(N K / BLOCK)] read, c: array<T> [M, N] write.
// Params: m, n, k; kw = K / 8. Overrides: WG threads (64 or 128), M_ROWS = m, FP4, BLOCK.
alias T = f32;

struct Params { m: u32, n: u32, k: u32, kw: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> codes: array<u32>;
@group(0) @binding(3) var<storage, read> absmax: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<T>;

override WG: u32 = 64u;
override M_ROWS: u32 = 1u;
override FP4: bool = false;
override BLOCK: u32 = 64u;

// Fixed size (WG at most 128): naga rejects this override-sized array in this module.
var<workgroup> red: array<vec4f, 128>;

var<private> NF4_LUT: array<f32, 16> = array<f32, 16>(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
);
var<private> FP4_LUT: array<f32, 8> = array<f32, 8>(
  0.0, 0.005208333333, 0.66666667, 1.0, 0.33333333, 0.5, 0.16666667, 0.25,
);

// The current word of the 4 weight rows, decoded and scaled: w<column><half> (elements 0-3, 4-7).
var<private> w00: vec4f;
var<private> w01: vec4f;
var<private> w10: vec4f;
var<private> w11: vec4f;
var<private> w20: vec4f;
var<private> w21: vec4f;
var<private> w30: vec4f;
var<private> w31: vec4f;

fn decode(c: u32) -> f32 {
  if (FP4) {
    let v = FP4_LUT[c & 7u];
    return select(v, -v, (c & 8u) != 0u);
  }
  return NF4_LUT[c];
}

// Elements 4h..4h+3 of a word (bytes 2h and 2h + 1, high nibble first), times the block's scale.
fn half_word(word: u32, h: u32, s: f32) -> vec4f {
  let b = word >> (16u * h);
  return s * vec4f(decode((b >> 4u) & 15u), decode(b & 15u), decode((b >> 12u) & 15u),
    decode((b >> 8u) & 15u));
}

// Word q of weight row n, and the absmax of its block.
fn weight_word(n: u32, q: u32) -> u32 { return codes[n * p.kw + q]; }

fn scale(n: u32, q: u32) -> f32 { return absmax[(n * p.k + 8u * q) / BLOCK]; }

// The 4 column dot products of word q for row m.
fn dots(m: u32, q: u32) -> vec4f {
  let i = (m * p.k + 8u * q) >> 2u;
  let x0 = vec4f(a[i]);
  let x1 = vec4f(a[i + 1u]);
  return vec4f(
    dot(x0, w00) + dot(x1, w01),
    dot(x0, w10) + dot(x1, w11),
    dot(x0, w20) + dot(x1, w21),
    dot(x0, w30) + dot(x1, w31),
  );
}

// Sums acc over the workgroup and stores row m of this block of 4 columns.
fn reduce_store(m: u32, acc: vec4f, lid: u32, col0: u32) {
  red[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  if (lid < 4u && col0 + lid < p.n) { c[m * p.n + col0 + lid] = T(red[0][lid]); }
  // The next row overwrites red.
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let col0 = (wid.x + wid.y * nwg.x) * 4u;
  // Columns past N read the last row (no branch in the loop) and are never stored; the whole
  // workgroup stays for the barriers.
  let last = max(p.n, 1u) - 1u;
  let n0 = min(col0, last);
  let n1 = min(col0 + 1u, last);
  let n2 = min(col0 + 2u, last);
  let n3 = min(col0 + 3u, last);
  var acc0 = vec4f();
  var acc1 = vec4f();
  var acc2 = vec4f();
  var acc3 = vec4f();
  var acc4 = vec4f();
  var acc5 = vec4f();
  var acc6 = vec4f();
  var acc7 = vec4f();
  for (var q = lid; q < p.kw; q += WG) {
    // The four code loads first, so they are in flight together.
    let r0 = weight_word(n0, q);
    let r1 = weight_word(n1, q);
    let r2 = weight_word(n2, q);
    let r3 = weight_word(n3, q);
    let s0 = scale(n0, q);
    let s1 = scale(n1, q);
    let s2 = scale(n2, q);
    let s3 = scale(n3, q);
    w00 = half_word(r0, 0u, s0);
    w01 = half_word(r0, 1u, s0);
    w10 = half_word(r1, 0u, s1);
    w11 = half_word(r1, 1u, s1);
    w20 = half_word(r2, 0u, s2);
    w21 = half_word(r2, 1u, s2);
    w30 = half_word(r3, 0u, s3);
    w31 = half_word(r3, 1u, s3);
    acc0 += dots(0u, q);
    if (M_ROWS > 1u) { acc1 += dots(1u, q); }
    if (M_ROWS > 2u) { acc2 += dots(2u, q); }
    if (M_ROWS > 3u) { acc3 += dots(3u, q); }
    if (M_ROWS > 4u) { acc4 += dots(4u, q); }
    if (M_ROWS > 5u) { acc5 += dots(5u, q); }
    if (M_ROWS > 6u) { acc6 += dots(6u, q); }
    if (M_ROWS > 7u) { acc7 += dots(7u, q); }
  }
  reduce_store(0u, acc0, lid, col0);
  if (M_ROWS > 1u) { reduce_store(1u, acc1, lid, col0); }
  if (M_ROWS > 2u) { reduce_store(2u, acc2, lid, col0); }
  if (M_ROWS > 3u) { reduce_store(3u, acc3, lid, col0); }
  if (M_ROWS > 4u) { reduce_store(4u, acc4, lid, col0); }
  if (M_ROWS > 5u) { reduce_store(5u, acc5, lid, col0); }
  if (M_ROWS > 6u) { reduce_store(6u, acc6, lid, col0); }
  if (M_ROWS > 7u) { reduce_store(7u, acc7, lid, col0); }
}
