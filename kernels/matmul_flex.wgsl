// matmul_flex: matmul_fast (which see: contract, alignment, loads) with a smaller output block
// and split-K, for products whose 128 x 128 blocks are too few to fill a large GPU (a 512-token
// prefill's [512, 896] x [896, 896]^T is 28 blocks) and for long-K products with a small output
// (LoRA's dA = dU^T X, [8, 4096] x [4096, 896]).
// Bindings: params, a: array<vec4<T>> read, b: array<BVec> read (vec4<T>; vec2u of bf16 pairs in
// the _bf16 variant that kernels/_bf16_weights.ts derives, with T = f32),
// c: array<T> [batch, M, N] write, or [splits, M, N] partial sums when split (f32 only).
// Params: as matmul_fast, then kc: K elements per split (a multiple of 8), 0 for no split. When
// split, the batch must be a single item: z is the split, summing K from z * kc to
// min(K, (z + 1) * kc), and the caller reduces the partials over z.
// Overrides TM, TN (64 or 128): rows and columns of the block. Split: 256 threads per TM x TN
// block as in matmul_fast; with 64 a thread keeps the first 4 of its 8 rows (or columns), the
// other accumulators' code is removed at pipeline creation (TM and TN are constants there) and
// the loads of the tile's unused half are masked off.
alias T = f32;
// b's element and its widening; kernels/_bf16_weights.ts rewrites these two for bf16 weights.
alias BVec = vec4<T>;

struct Params {
  m: u32, n: u32, k: u32, z0: u32,
  batch: vec4u,
  a_stride: vec4u,
  b_stride: vec4u,
  kc: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> b: array<BVec>;
@group(0) @binding(3) var<storage, read_write> c: array<T>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override TM: u32 = 128u;
override TN: u32 = 128u;

const BK: u32 = 8u;
// [2 buffers x BK][128 / 4 + 1], as matmul_fast (the 64 blocks use the first half).
var<workgroup> sa: array<array<vec4f, 33>, 16>;
var<workgroup> sb: array<array<vec4f, 33>, 16>;

var<private> a_base: u32; // vec4 offset of this batch's a
var<private> b_base: u32;
var<private> c_base: u32; // element offset of this batch's (or split's) c
var<private> m_end: u32; // loads at or past these read zeros: the block's and the matrix's ends
var<private> n_end: u32;
var<private> k_end: u32;

// Four consecutive elements of the operand tile for thread `lid` at K offset k0 (as matmul_fast).
fn widen(w: BVec) -> vec4f { return vec4f(w); }

fn load_a(lid: u32, m0: u32, k0: u32) -> vec4f {
  if (TRANS_A) {
    let k = k0 + (lid >> 5u);
    let m = m0 + (lid & 31u) * 4u;
    if (k < k_end && m < m_end) { return vec4f(a[a_base + k * (p.m / 4u) + m / 4u]); }
  } else {
    let m = m0 + (lid >> 1u);
    let k = k0 + (lid & 1u) * 4u;
    if (m < m_end && k < k_end) { return vec4f(a[a_base + m * (p.k / 4u) + k / 4u]); }
  }
  return vec4f();
}

fn load_b(lid: u32, n0: u32, k0: u32) -> vec4f {
  if (TRANS_B) {
    let n = n0 + (lid >> 1u);
    let k = k0 + (lid & 1u) * 4u;
    if (n < n_end && k < k_end) { return widen(b[b_base + n * (p.k / 4u) + k / 4u]); }
  } else {
    let k = k0 + (lid >> 5u);
    let n = n0 + (lid & 31u) * 4u;
    if (k < k_end && n < n_end) { return widen(b[b_base + k * (p.n / 4u) + n / 4u]); }
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
  let m0 = wid.y * TM;
  let n0 = wid.x * TN;
  m_end = min(p.m, m0 + TM);
  n_end = min(p.n, n0 + TN);
  // A split walks its own K range (the batch is one item, so z only picks the range).
  var k0 = 0u;
  k_end = p.k;
  if (p.kc > 0u) {
    k0 = z * p.kc;
    k_end = min(p.k, k0 + p.kc);
  }
  let tx = lid & 15u;
  let ty = lid >> 4u;

  var c00 = vec4f(); var c01 = vec4f(); var c10 = vec4f(); var c11 = vec4f();
  var c20 = vec4f(); var c21 = vec4f(); var c30 = vec4f(); var c31 = vec4f();
  var c40 = vec4f(); var c41 = vec4f(); var c50 = vec4f(); var c51 = vec4f();
  var c60 = vec4f(); var c61 = vec4f(); var c70 = vec4f(); var c71 = vec4f();

  var ra = load_a(lid, m0, k0);
  var rb = load_b(lid, n0, k0);
  put_a(lid, 0u, ra);
  put_b(lid, 0u, rb);
  workgroupBarrier();
  let tiles = (max(k_end, k0) - k0 + BK - 1u) / BK;
  for (var t = 0u; t < tiles; t++) {
    let cur = (t & 1u) * BK;
    let more = t + 1u < tiles;
    if (more) {
      ra = load_a(lid, m0, k0 + (t + 1u) * BK);
      rb = load_b(lid, n0, k0 + (t + 1u) * BK);
    }
    // The BK = 8 steps, written out (see matmul_fast's NOTE); with TM or TN of 64 the `if`s on
    // these constants drop the unused half and its shared-memory reads are dead.
    {
      let a0 = sa[cur + 0u][ty];
      let a1 = sa[cur + 0u][ty + 16u];
      let b0 = sb[cur + 0u][tx];
      let b1 = sb[cur + 0u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c10 = fma(vec4f(a0.y), b0, c10);
      c20 = fma(vec4f(a0.z), b0, c20); c30 = fma(vec4f(a0.w), b0, c30);
      if (TN == 128u) {
        c01 = fma(vec4f(a0.x), b1, c01); c11 = fma(vec4f(a0.y), b1, c11);
        c21 = fma(vec4f(a0.z), b1, c21); c31 = fma(vec4f(a0.w), b1, c31);
      }
      if (TM == 128u) {
        c40 = fma(vec4f(a1.x), b0, c40); c50 = fma(vec4f(a1.y), b0, c50);
        c60 = fma(vec4f(a1.z), b0, c60); c70 = fma(vec4f(a1.w), b0, c70);
        if (TN == 128u) {
          c41 = fma(vec4f(a1.x), b1, c41); c51 = fma(vec4f(a1.y), b1, c51);
          c61 = fma(vec4f(a1.z), b1, c61); c71 = fma(vec4f(a1.w), b1, c71);
        }
      }
    }
    {
      let a0 = sa[cur + 1u][ty];
      let a1 = sa[cur + 1u][ty + 16u];
      let b0 = sb[cur + 1u][tx];
      let b1 = sb[cur + 1u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c10 = fma(vec4f(a0.y), b0, c10);
      c20 = fma(vec4f(a0.z), b0, c20); c30 = fma(vec4f(a0.w), b0, c30);
      if (TN == 128u) {
        c01 = fma(vec4f(a0.x), b1, c01); c11 = fma(vec4f(a0.y), b1, c11);
        c21 = fma(vec4f(a0.z), b1, c21); c31 = fma(vec4f(a0.w), b1, c31);
      }
      if (TM == 128u) {
        c40 = fma(vec4f(a1.x), b0, c40); c50 = fma(vec4f(a1.y), b0, c50);
        c60 = fma(vec4f(a1.z), b0, c60); c70 = fma(vec4f(a1.w), b0, c70);
        if (TN == 128u) {
          c41 = fma(vec4f(a1.x), b1, c41); c51 = fma(vec4f(a1.y), b1, c51);
          c61 = fma(vec4f(a1.z), b1, c61); c71 = fma(vec4f(a1.w), b1, c71);
        }
      }
    }
    {
      let a0 = sa[cur + 2u][ty];
      let a1 = sa[cur + 2u][ty + 16u];
      let b0 = sb[cur + 2u][tx];
      let b1 = sb[cur + 2u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c10 = fma(vec4f(a0.y), b0, c10);
      c20 = fma(vec4f(a0.z), b0, c20); c30 = fma(vec4f(a0.w), b0, c30);
      if (TN == 128u) {
        c01 = fma(vec4f(a0.x), b1, c01); c11 = fma(vec4f(a0.y), b1, c11);
        c21 = fma(vec4f(a0.z), b1, c21); c31 = fma(vec4f(a0.w), b1, c31);
      }
      if (TM == 128u) {
        c40 = fma(vec4f(a1.x), b0, c40); c50 = fma(vec4f(a1.y), b0, c50);
        c60 = fma(vec4f(a1.z), b0, c60); c70 = fma(vec4f(a1.w), b0, c70);
        if (TN == 128u) {
          c41 = fma(vec4f(a1.x), b1, c41); c51 = fma(vec4f(a1.y), b1, c51);
          c61 = fma(vec4f(a1.z), b1, c61); c71 = fma(vec4f(a1.w), b1, c71);
        }
      }
    }
    {
      let a0 = sa[cur + 3u][ty];
      let a1 = sa[cur + 3u][ty + 16u];
      let b0 = sb[cur + 3u][tx];
      let b1 = sb[cur + 3u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c10 = fma(vec4f(a0.y), b0, c10);
      c20 = fma(vec4f(a0.z), b0, c20); c30 = fma(vec4f(a0.w), b0, c30);
      if (TN == 128u) {
        c01 = fma(vec4f(a0.x), b1, c01); c11 = fma(vec4f(a0.y), b1, c11);
        c21 = fma(vec4f(a0.z), b1, c21); c31 = fma(vec4f(a0.w), b1, c31);
      }
      if (TM == 128u) {
        c40 = fma(vec4f(a1.x), b0, c40); c50 = fma(vec4f(a1.y), b0, c50);
        c60 = fma(vec4f(a1.z), b0, c60); c70 = fma(vec4f(a1.w), b0, c70);
        if (TN == 128u) {
          c41 = fma(vec4f(a1.x), b1, c41); c51 = fma(vec4f(a1.y), b1, c51);
          c61 = fma(vec4f(a1.z), b1, c61); c71 = fma(vec4f(a1.w), b1, c71);
        }
      }
    }
    {
      let a0 = sa[cur + 4u][ty];
      let a1 = sa[cur + 4u][ty + 16u];
      let b0 = sb[cur + 4u][tx];
      let b1 = sb[cur + 4u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c10 = fma(vec4f(a0.y), b0, c10);
      c20 = fma(vec4f(a0.z), b0, c20); c30 = fma(vec4f(a0.w), b0, c30);
      if (TN == 128u) {
        c01 = fma(vec4f(a0.x), b1, c01); c11 = fma(vec4f(a0.y), b1, c11);
        c21 = fma(vec4f(a0.z), b1, c21); c31 = fma(vec4f(a0.w), b1, c31);
      }
      if (TM == 128u) {
        c40 = fma(vec4f(a1.x), b0, c40); c50 = fma(vec4f(a1.y), b0, c50);
        c60 = fma(vec4f(a1.z), b0, c60); c70 = fma(vec4f(a1.w), b0, c70);
        if (TN == 128u) {
          c41 = fma(vec4f(a1.x), b1, c41); c51 = fma(vec4f(a1.y), b1, c51);
          c61 = fma(vec4f(a1.z), b1, c61); c71 = fma(vec4f(a1.w), b1, c71);
        }
      }
    }
    {
      let a0 = sa[cur + 5u][ty];
      let a1 = sa[cur + 5u][ty + 16u];
      let b0 = sb[cur + 5u][tx];
      let b1 = sb[cur + 5u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c10 = fma(vec4f(a0.y), b0, c10);
      c20 = fma(vec4f(a0.z), b0, c20); c30 = fma(vec4f(a0.w), b0, c30);
      if (TN == 128u) {
        c01 = fma(vec4f(a0.x), b1, c01); c11 = fma(vec4f(a0.y), b1, c11);
        c21 = fma(vec4f(a0.z), b1, c21); c31 = fma(vec4f(a0.w), b1, c31);
      }
      if (TM == 128u) {
        c40 = fma(vec4f(a1.x), b0, c40); c50 = fma(vec4f(a1.y), b0, c50);
        c60 = fma(vec4f(a1.z), b0, c60); c70 = fma(vec4f(a1.w), b0, c70);
        if (TN == 128u) {
          c41 = fma(vec4f(a1.x), b1, c41); c51 = fma(vec4f(a1.y), b1, c51);
          c61 = fma(vec4f(a1.z), b1, c61); c71 = fma(vec4f(a1.w), b1, c71);
        }
      }
    }
    {
      let a0 = sa[cur + 6u][ty];
      let a1 = sa[cur + 6u][ty + 16u];
      let b0 = sb[cur + 6u][tx];
      let b1 = sb[cur + 6u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c10 = fma(vec4f(a0.y), b0, c10);
      c20 = fma(vec4f(a0.z), b0, c20); c30 = fma(vec4f(a0.w), b0, c30);
      if (TN == 128u) {
        c01 = fma(vec4f(a0.x), b1, c01); c11 = fma(vec4f(a0.y), b1, c11);
        c21 = fma(vec4f(a0.z), b1, c21); c31 = fma(vec4f(a0.w), b1, c31);
      }
      if (TM == 128u) {
        c40 = fma(vec4f(a1.x), b0, c40); c50 = fma(vec4f(a1.y), b0, c50);
        c60 = fma(vec4f(a1.z), b0, c60); c70 = fma(vec4f(a1.w), b0, c70);
        if (TN == 128u) {
          c41 = fma(vec4f(a1.x), b1, c41); c51 = fma(vec4f(a1.y), b1, c51);
          c61 = fma(vec4f(a1.z), b1, c61); c71 = fma(vec4f(a1.w), b1, c71);
        }
      }
    }
    {
      let a0 = sa[cur + 7u][ty];
      let a1 = sa[cur + 7u][ty + 16u];
      let b0 = sb[cur + 7u][tx];
      let b1 = sb[cur + 7u][tx + 16u];
      c00 = fma(vec4f(a0.x), b0, c00); c10 = fma(vec4f(a0.y), b0, c10);
      c20 = fma(vec4f(a0.z), b0, c20); c30 = fma(vec4f(a0.w), b0, c30);
      if (TN == 128u) {
        c01 = fma(vec4f(a0.x), b1, c01); c11 = fma(vec4f(a0.y), b1, c11);
        c21 = fma(vec4f(a0.z), b1, c21); c31 = fma(vec4f(a0.w), b1, c31);
      }
      if (TM == 128u) {
        c40 = fma(vec4f(a1.x), b0, c40); c50 = fma(vec4f(a1.y), b0, c50);
        c60 = fma(vec4f(a1.z), b0, c60); c70 = fma(vec4f(a1.w), b0, c70);
        if (TN == 128u) {
          c41 = fma(vec4f(a1.x), b1, c41); c51 = fma(vec4f(a1.y), b1, c51);
          c61 = fma(vec4f(a1.z), b1, c61); c71 = fma(vec4f(a1.w), b1, c71);
        }
      }
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
  store(row + 0u, col, c00); store(row + 1u, col, c10);
  store(row + 2u, col, c20); store(row + 3u, col, c30);
  if (TN == 128u) {
    store(row + 0u, col + 64u, c01); store(row + 1u, col + 64u, c11);
    store(row + 2u, col + 64u, c21); store(row + 3u, col + 64u, c31);
  }
  if (TM == 128u) {
    store(row + 64u, col, c40); store(row + 65u, col, c50);
    store(row + 66u, col, c60); store(row + 67u, col, c70);
    if (TN == 128u) {
      store(row + 64u, col + 64u, c41); store(row + 65u, col + 64u, c51);
      store(row + 66u, col + 64u, c61); store(row + 67u, col + 64u, c71);
    }
  }
}
