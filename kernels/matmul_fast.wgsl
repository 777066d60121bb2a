// matmul_fast: c[z] = op(a[z]) @ op(b[z]) for large shapes; same contract as matmul_tiled but
// the operands are read four elements at a time, so each operand's contiguous dimension (K for a,
// M for a transposed; N for b, K for b transposed) and its batch strides must be multiples of 4.
// M, N and K need not be multiples of the tile: loads past the edge read zeros, stores are masked.
// Bindings: params, a: array<vec4<T>> read, b: array<BVec> read (vec4<T>; vec2u of bf16 pairs in
// the _bf16 variant that kernels/_bf16_weights.ts derives, with T = f32),
// c: array<T> [batch, M, N] write.
// Params: as matmul_tiled (m, n, k, z0, batch shape, element strides per batch dim, 0 = broadcast).
// Split: 256 threads compute a 128 x 128 block of c (x over N blocks, y over M blocks, z over the
// batch); each thread owns 8 x 8 outputs in 16 named vec4 accumulators: rows 4ty..4ty+3 and
// 64+4ty.., columns 4tx..4tx+3 and 64+4tx... K is walked 8 deep through double-buffered shared
// tiles; the next tile's global loads are issued before the current tile's arithmetic.
// NOTE: naga does not unroll loops: a register tile held in an array indexed by loop variables
// lands in local memory (1.8 TFLOP/s on an H100 against 26 with these named accumulators), and
// writing the 8 K steps out by hand instead of looping took 4096^3 f32 from 28 to 35 TFLOP/s.
alias T = f32;
// b's element and its widening; kernels/_bf16_weights.ts rewrites these two for bf16 weights.
alias BVec = vec4<T>;

struct Params {
  m: u32, n: u32, k: u32, z0: u32,
  batch: vec4u,
  a_stride: vec4u,
  b_stride: vec4u,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> b: array<BVec>;
@group(0) @binding(3) var<storage, read_write> c: array<T>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;

const BK: u32 = 8u;
// [2 buffers x BK][128 / 4 + 1]: k-major rows of vec4; the pad vec4 keeps the transposing
// scalar stores of a K-contiguous operand free of bank conflicts.
var<workgroup> sa: array<array<vec4f, 33>, 16>;
var<workgroup> sb: array<array<vec4f, 33>, 16>;

var<private> a_base: u32; // vec4 offset of this batch's a
var<private> b_base: u32;
var<private> c_base: u32; // element offset of this batch's c

// Four consecutive elements of the operand tile for thread `lid` at K offset k0. K-contiguous
// operands: thread -> (row lid/2, k 4*(lid%2)); MN-contiguous: thread -> (k lid/32, row 4*(lid%32)).
fn widen(w: BVec) -> vec4f { return vec4f(w); }

fn load_a(lid: u32, m0: u32, k0: u32) -> vec4f {
  if (TRANS_A) {
    let k = k0 + (lid >> 5u);
    let m = m0 + (lid & 31u) * 4u;
    if (k < p.k && m < p.m) { return vec4f(a[a_base + k * (p.m / 4u) + m / 4u]); }
  } else {
    let m = m0 + (lid >> 1u);
    let k = k0 + (lid & 1u) * 4u;
    if (m < p.m && k < p.k) { return vec4f(a[a_base + m * (p.k / 4u) + k / 4u]); }
  }
  return vec4f();
}

fn load_b(lid: u32, n0: u32, k0: u32) -> vec4f {
  if (TRANS_B) {
    let n = n0 + (lid >> 1u);
    let k = k0 + (lid & 1u) * 4u;
    if (n < p.n && k < p.k) { return widen(b[b_base + n * (p.k / 4u) + k / 4u]); }
  } else {
    let k = k0 + (lid >> 5u);
    let n = n0 + (lid & 31u) * 4u;
    if (k < p.k && n < p.n) { return widen(b[b_base + k * (p.n / 4u) + n / 4u]); }
  }
  return vec4f();
}

fn put_a(lid: u32, buf: u32, v: vec4f) {
  if (TRANS_A) {
    sa[buf + (lid >> 5u)][lid & 31u] = v;
  } else {
    let r = lid >> 1u;
    let k = buf + (lid & 1u) * 4u;
    sa[k][r / 4u][r % 4u] = v.x;
    sa[k + 1u][r / 4u][r % 4u] = v.y;
    sa[k + 2u][r / 4u][r % 4u] = v.z;
    sa[k + 3u][r / 4u][r % 4u] = v.w;
  }
}

fn put_b(lid: u32, buf: u32, v: vec4f) {
  if (TRANS_B) {
    let r = lid >> 1u;
    let k = buf + (lid & 1u) * 4u;
    sb[k][r / 4u][r % 4u] = v.x;
    sb[k + 1u][r / 4u][r % 4u] = v.y;
    sb[k + 2u][r / 4u][r % 4u] = v.z;
    sb[k + 3u][r / 4u][r % 4u] = v.w;
  } else {
    sb[buf + (lid >> 5u)][lid & 31u] = v;
  }
}

fn store(r: u32, col: u32, v: vec4f) {
  if (r >= p.m) { return; }
  let i = c_base + r * p.n + col;
  if (col < p.n) { c[i] = T(v.x); }
  if (col + 1u < p.n) { c[i + 1u] = T(v.y); }
  if (col + 2u < p.n) { c[i + 2u] = T(v.z); }
  if (col + 3u < p.n) { c[i + 3u] = T(v.w); }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let z = wid.z + p.z0;
  var rest = z;
  var a_off = 0u;
  var b_off = 0u;
  for (var i = 3; i >= 0; i--) {
    let d = rest % p.batch[i];
    rest = rest / p.batch[i];
    a_off += d * p.a_stride[i];
    b_off += d * p.b_stride[i];
  }
  a_base = a_off / 4u;
  b_base = b_off / 4u;
  c_base = z * p.m * p.n;
  let m0 = wid.y * 128u;
  let n0 = wid.x * 128u;
  let tx = lid & 15u;
  let ty = lid >> 4u;

  var c00 = vec4f(); var c01 = vec4f(); var c10 = vec4f(); var c11 = vec4f();
  var c20 = vec4f(); var c21 = vec4f(); var c30 = vec4f(); var c31 = vec4f();
  var c40 = vec4f(); var c41 = vec4f(); var c50 = vec4f(); var c51 = vec4f();
  var c60 = vec4f(); var c61 = vec4f(); var c70 = vec4f(); var c71 = vec4f();

  var ra = load_a(lid, m0, 0u);
  var rb = load_b(lid, n0, 0u);
  put_a(lid, 0u, ra);
  put_b(lid, 0u, rb);
  workgroupBarrier();
  let tiles = (p.k + BK - 1u) / BK;
  for (var t = 0u; t < tiles; t++) {
    let cur = (t & 1u) * BK;
    let more = t + 1u < tiles;
    if (more) {
      ra = load_a(lid, m0, (t + 1u) * BK);
      rb = load_b(lid, n0, (t + 1u) * BK);
    }
    // The BK = 8 steps of this tile, written out (see the NOTE at the top).
    {
      let a0 = sa[cur + 0u][ty];
      let a1 = sa[cur + 0u][ty + 16u];
      let b0 = sb[cur + 0u][tx];
      let b1 = sb[cur + 0u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c01 = fma(vec4f(a0.x), b1, c01);
      c10 = fma(vec4f(a0.y), b0, c10); c11 = fma(vec4f(a0.y), b1, c11);
      c20 = fma(vec4f(a0.z), b0, c20); c21 = fma(vec4f(a0.z), b1, c21);
      c30 = fma(vec4f(a0.w), b0, c30); c31 = fma(vec4f(a0.w), b1, c31);
      c40 = fma(vec4f(a1.x), b0, c40); c41 = fma(vec4f(a1.x), b1, c41);
      c50 = fma(vec4f(a1.y), b0, c50); c51 = fma(vec4f(a1.y), b1, c51);
      c60 = fma(vec4f(a1.z), b0, c60); c61 = fma(vec4f(a1.z), b1, c61);
      c70 = fma(vec4f(a1.w), b0, c70); c71 = fma(vec4f(a1.w), b1, c71);
    }
    {
      let a0 = sa[cur + 1u][ty];
      let a1 = sa[cur + 1u][ty + 16u];
      let b0 = sb[cur + 1u][tx];
      let b1 = sb[cur + 1u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c01 = fma(vec4f(a0.x), b1, c01);
      c10 = fma(vec4f(a0.y), b0, c10); c11 = fma(vec4f(a0.y), b1, c11);
      c20 = fma(vec4f(a0.z), b0, c20); c21 = fma(vec4f(a0.z), b1, c21);
      c30 = fma(vec4f(a0.w), b0, c30); c31 = fma(vec4f(a0.w), b1, c31);
      c40 = fma(vec4f(a1.x), b0, c40); c41 = fma(vec4f(a1.x), b1, c41);
      c50 = fma(vec4f(a1.y), b0, c50); c51 = fma(vec4f(a1.y), b1, c51);
      c60 = fma(vec4f(a1.z), b0, c60); c61 = fma(vec4f(a1.z), b1, c61);
      c70 = fma(vec4f(a1.w), b0, c70); c71 = fma(vec4f(a1.w), b1, c71);
    }
    {
      let a0 = sa[cur + 2u][ty];
      let a1 = sa[cur + 2u][ty + 16u];
      let b0 = sb[cur + 2u][tx];
      let b1 = sb[cur + 2u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c01 = fma(vec4f(a0.x), b1, c01);
      c10 = fma(vec4f(a0.y), b0, c10); c11 = fma(vec4f(a0.y), b1, c11);
      c20 = fma(vec4f(a0.z), b0, c20); c21 = fma(vec4f(a0.z), b1, c21);
      c30 = fma(vec4f(a0.w), b0, c30); c31 = fma(vec4f(a0.w), b1, c31);
      c40 = fma(vec4f(a1.x), b0, c40); c41 = fma(vec4f(a1.x), b1, c41);
      c50 = fma(vec4f(a1.y), b0, c50); c51 = fma(vec4f(a1.y), b1, c51);
      c60 = fma(vec4f(a1.z), b0, c60); c61 = fma(vec4f(a1.z), b1, c61);
      c70 = fma(vec4f(a1.w), b0, c70); c71 = fma(vec4f(a1.w), b1, c71);
    }
    {
      let a0 = sa[cur + 3u][ty];
      let a1 = sa[cur + 3u][ty + 16u];
      let b0 = sb[cur + 3u][tx];
      let b1 = sb[cur + 3u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c01 = fma(vec4f(a0.x), b1, c01);
      c10 = fma(vec4f(a0.y), b0, c10); c11 = fma(vec4f(a0.y), b1, c11);
      c20 = fma(vec4f(a0.z), b0, c20); c21 = fma(vec4f(a0.z), b1, c21);
      c30 = fma(vec4f(a0.w), b0, c30); c31 = fma(vec4f(a0.w), b1, c31);
      c40 = fma(vec4f(a1.x), b0, c40); c41 = fma(vec4f(a1.x), b1, c41);
      c50 = fma(vec4f(a1.y), b0, c50); c51 = fma(vec4f(a1.y), b1, c51);
      c60 = fma(vec4f(a1.z), b0, c60); c61 = fma(vec4f(a1.z), b1, c61);
      c70 = fma(vec4f(a1.w), b0, c70); c71 = fma(vec4f(a1.w), b1, c71);
    }
    {
      let a0 = sa[cur + 4u][ty];
      let a1 = sa[cur + 4u][ty + 16u];
      let b0 = sb[cur + 4u][tx];
      let b1 = sb[cur + 4u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c01 = fma(vec4f(a0.x), b1, c01);
      c10 = fma(vec4f(a0.y), b0, c10); c11 = fma(vec4f(a0.y), b1, c11);
      c20 = fma(vec4f(a0.z), b0, c20); c21 = fma(vec4f(a0.z), b1, c21);
      c30 = fma(vec4f(a0.w), b0, c30); c31 = fma(vec4f(a0.w), b1, c31);
      c40 = fma(vec4f(a1.x), b0, c40); c41 = fma(vec4f(a1.x), b1, c41);
      c50 = fma(vec4f(a1.y), b0, c50); c51 = fma(vec4f(a1.y), b1, c51);
      c60 = fma(vec4f(a1.z), b0, c60); c61 = fma(vec4f(a1.z), b1, c61);
      c70 = fma(vec4f(a1.w), b0, c70); c71 = fma(vec4f(a1.w), b1, c71);
    }
    {
      let a0 = sa[cur + 5u][ty];
      let a1 = sa[cur + 5u][ty + 16u];
      let b0 = sb[cur + 5u][tx];
      let b1 = sb[cur + 5u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c01 = fma(vec4f(a0.x), b1, c01);
      c10 = fma(vec4f(a0.y), b0, c10); c11 = fma(vec4f(a0.y), b1, c11);
      c20 = fma(vec4f(a0.z), b0, c20); c21 = fma(vec4f(a0.z), b1, c21);
      c30 = fma(vec4f(a0.w), b0, c30); c31 = fma(vec4f(a0.w), b1, c31);
      c40 = fma(vec4f(a1.x), b0, c40); c41 = fma(vec4f(a1.x), b1, c41);
      c50 = fma(vec4f(a1.y), b0, c50); c51 = fma(vec4f(a1.y), b1, c51);
      c60 = fma(vec4f(a1.z), b0, c60); c61 = fma(vec4f(a1.z), b1, c61);
      c70 = fma(vec4f(a1.w), b0, c70); c71 = fma(vec4f(a1.w), b1, c71);
    }
    {
      let a0 = sa[cur + 6u][ty];
      let a1 = sa[cur + 6u][ty + 16u];
      let b0 = sb[cur + 6u][tx];
      let b1 = sb[cur + 6u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c01 = fma(vec4f(a0.x), b1, c01);
      c10 = fma(vec4f(a0.y), b0, c10); c11 = fma(vec4f(a0.y), b1, c11);
      c20 = fma(vec4f(a0.z), b0, c20); c21 = fma(vec4f(a0.z), b1, c21);
      c30 = fma(vec4f(a0.w), b0, c30); c31 = fma(vec4f(a0.w), b1, c31);
      c40 = fma(vec4f(a1.x), b0, c40); c41 = fma(vec4f(a1.x), b1, c41);
      c50 = fma(vec4f(a1.y), b0, c50); c51 = fma(vec4f(a1.y), b1, c51);
      c60 = fma(vec4f(a1.z), b0, c60); c61 = fma(vec4f(a1.z), b1, c61);
      c70 = fma(vec4f(a1.w), b0, c70); c71 = fma(vec4f(a1.w), b1, c71);
    }
    {
      let a0 = sa[cur + 7u][ty];
      let a1 = sa[cur + 7u][ty + 16u];
      let b0 = sb[cur + 7u][tx];
      let b1 = sb[cur + 7u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c01 = fma(vec4f(a0.x), b1, c01);
      c10 = fma(vec4f(a0.y), b0, c10); c11 = fma(vec4f(a0.y), b1, c11);
      c20 = fma(vec4f(a0.z), b0, c20); c21 = fma(vec4f(a0.z), b1, c21);
      c30 = fma(vec4f(a0.w), b0, c30); c31 = fma(vec4f(a0.w), b1, c31);
      c40 = fma(vec4f(a1.x), b0, c40); c41 = fma(vec4f(a1.x), b1, c41);
      c50 = fma(vec4f(a1.y), b0, c50); c51 = fma(vec4f(a1.y), b1, c51);
      c60 = fma(vec4f(a1.z), b0, c60); c61 = fma(vec4f(a1.z), b1, c61);
      c70 = fma(vec4f(a1.w), b0, c70); c71 = fma(vec4f(a1.w), b1, c71);
    }
    // The other buffer was last read before the previous barrier, so it can be refilled now.
    if (more) {
      put_a(lid, BK - cur, ra);
      put_b(lid, BK - cur, rb);
    }
    workgroupBarrier();
  }

  let row = m0 + ty * 4u;
  let col = n0 + tx * 4u;
  store(row + 0u, col, c00); store(row + 0u, col + 64u, c01);
  store(row + 1u, col, c10); store(row + 1u, col + 64u, c11);
  store(row + 2u, col, c20); store(row + 2u, col + 64u, c21);
  store(row + 3u, col, c30); store(row + 3u, col + 64u, c31);
  store(row + 64u, col, c40); store(row + 64u, col + 64u, c41);
  store(row + 65u, col, c50); store(row + 65u, col + 64u, c51);
  store(row + 66u, col, c60); store(row + 66u, col + 64u, c61);
  store(row + 67u, col, c70); store(row + 67u, col + 64u, c71);
}

