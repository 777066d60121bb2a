// matvec_shared: c = a @ b^T for a few rows; the contract of matvec.wgsl (bindings, Params,
// overrides, split) for devices without the `subgroups` feature: each row's partials combine
// through a shared-memory tree (WG must be a power of two) instead of subgroupAdd.
// Bindings: params, a: array<vec4<T>> [M, K] read, b: array<vec4u> [N, K] read (raw weight
// words), c: array<T> [M, N] write.
// Params: m, n, k; kc = chunks per row of E elements (E = 4 for f32 weights, 8 for 16-bit ones).
// Overrides: WG threads (64, 128 or 256), M_ROWS = m, WEIGHT (0 f32, 1 f16, 2 bf16), ALIGNED.
// Split: one workgroup of WG threads per 4 columns of c (blocks over x then y); thread t takes the
// chunks t, t + WG, ... of the 4 weight rows and of the M rows of a, one vec4 accumulator per row.
alias T = f32;

struct Params { m: u32, n: u32, k: u32, kc: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> b: array<vec4u>;
@group(0) @binding(3) var<storage, read_write> c: array<T>;

override WG: u32 = 64u;
override M_ROWS: u32 = 1u;
override WEIGHT: u32 = 0u;
override ALIGNED: bool = true;

var<workgroup> red: array<vec4f, WG>;

// The current chunk of the 4 weight rows, widened: w<column><half>; half 1 is zero for f32.
var<private> w00: vec4f;
var<private> w01: vec4f;
var<private> w10: vec4f;
var<private> w11: vec4f;
var<private> w20: vec4f;
var<private> w21: vec4f;
var<private> w30: vec4f;
var<private> w31: vec4f;

fn chunk() -> u32 { return select(8u, 4u, WEIGHT == 0u); }

// The 16-bit element h of b (f16 or bf16 bits).
fn half_at(h: u32) -> u32 {
  let w = b[h >> 3u][(h >> 1u) & 3u];
  return select(w & 0xffffu, w >> 16u, (h & 1u) == 1u);
}

// Raw words of chunk q of weight row n, as an aligned load would give them (zeros past K).
fn raw_w(n: u32, q: u32) -> vec4u {
  if (ALIGNED) { return b[n * p.kc + q]; }
  var r = vec4u();
  let k0 = q * chunk();
  for (var j = 0u; j < chunk(); j++) {
    if (k0 + j >= p.k) { break; }
    let e = n * p.k + k0 + j;
    if (WEIGHT == 0u) {
      r[j] = b[e >> 2u][e & 3u];
    } else {
      r[j >> 1u] |= half_at(e) << (16u * (j & 1u));
    }
  }
  return r;
}

fn bf16x2(w: u32) -> vec2f {
  return vec2f(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u));
}

fn widen_lo(r: vec4u) -> vec4f {
  if (WEIGHT == 0u) { return bitcast<vec4f>(r); }
  if (WEIGHT == 1u) { return vec4f(unpack2x16float(r.x), unpack2x16float(r.y)); }
  return vec4f(bf16x2(r.x), bf16x2(r.y));
}

fn widen_hi(r: vec4u) -> vec4f {
  if (WEIGHT == 0u) { return vec4f(); }
  if (WEIGHT == 1u) { return vec4f(unpack2x16float(r.z), unpack2x16float(r.w)); }
  return vec4f(bf16x2(r.z), bf16x2(r.w));
}

// Element e of a, 0 past the end of its row (the unaligned path).
fn a_elem(row: u32, k: u32) -> f32 {
  if (k >= p.k) { return 0.0; }
  let e = row * p.k + k;
  return f32(a[e >> 2u][e & 3u]);
}

// Elements 4h..4h+3 of chunk q of row m of a.
fn load_a(m: u32, q: u32, h: u32) -> vec4f {
  let k0 = q * chunk() + 4u * h;
  if (ALIGNED) { return vec4f(a[(m * p.k + k0) >> 2u]); }
  return vec4f(a_elem(m, k0), a_elem(m, k0 + 1u), a_elem(m, k0 + 2u), a_elem(m, k0 + 3u));
}

// The 4 column dot products of chunk q for row m.
fn dots(m: u32, q: u32) -> vec4f {
  let x0 = load_a(m, q, 0u);
  if (WEIGHT == 0u) {
    return vec4f(dot(x0, w00), dot(x0, w10), dot(x0, w20), dot(x0, w30));
  }
  let x1 = load_a(m, q, 1u);
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
  for (var q = lid; q < p.kc; q += WG) {
    // The four weight loads first, so they are in flight together.
    let r0 = raw_w(n0, q);
    let r1 = raw_w(n1, q);
    let r2 = raw_w(n2, q);
    let r3 = raw_w(n3, q);
    w00 = widen_lo(r0);
    w01 = widen_hi(r0);
    w10 = widen_lo(r1);
    w11 = widen_hi(r1);
    w20 = widen_lo(r2);
    w21 = widen_hi(r2);
    w30 = widen_lo(r3);
    w31 = widen_hi(r3);
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
