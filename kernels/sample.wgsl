// sample: picks each row's next token from its last logits and advances the decoding state, so
// the next step reads its input from GPU memory and nothing is read back per token.
// Logits processors in transformers' order, with each row's own settings (so greedy and sampled
// rows share a batch): repetition penalty (a token already in the row's context has a positive
// logit divided by `penalty`, a negative one multiplied), then, when the row samples, temperature
// (x / temperature), top-k (keep x >= the k-th largest, ties kept), top-p (keep the smallest top
// set whose probability reaches top_p, the maximum always kept) and a draw from the softmax of what
// is kept; a greedy row takes the argmax (first index on ties).
// A row already finished gets `pad` instead; a row whose token is an EOS id becomes finished.
// Bindings: params; logits: array<f32> [B, V] read_write (a sampled row's is overwritten with its
//   processed logits); seen: array<u32> [B, V] read_write (nonzero = in context; read and set
//   only when penalty != 1, else any small buffer); tokens: array<i32> [B, max_new] read_write
//   (column `step` written); next: array<i32> [B] read_write (the token, the next step's input
//   id); pos: array<i32> [B] read_write (incremented: the next input's position); done:
//   array<u32> [B] read_write (finished flags); rows: array<u32> [B, 8] read (each row's settings:
//   do_sample (0 = greedy), temperature (f32 bits), top_k (0 = off), top_p (f32 bits, 1 = off),
//   penalty (f32 bits, 1 = off), seed, stream, first step (the row's token index at step 0)).
// Params: b, v, step, max_new, pad, n_eos (<= 8), eos ids in two vec4u.
// Thresholds are exact: a bisection over the order-preserving u32 key of the f32 logits (at most
// 32 passes over the row each for top-k and top-p). The draw walks the kept tokens in index order
// (inverse CDF over per-thread contiguous chunks); its uniform comes from a counter-based hash of
// (seed, stream, first step + step) of the row (stream = the row index unless the caller says
// otherwise), so a seed reproduces a generation exactly, whatever row or batch-mates a request
// gets, also when the row resumes in a new batch (first step = the tokens it already has).
// Split: one workgroup of 256 threads per row, workgroups over x then y (see grid()).

struct Params {
  b: u32, v: u32, step: u32, max_new: u32,
  pad: u32, n_eos: u32, _p0: u32, _p1: u32,
  eos: array<vec4u, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> seen: array<u32>;
@group(0) @binding(3) var<storage, read_write> tokens: array<i32>;
@group(0) @binding(4) var<storage, read_write> next: array<i32>;
@group(0) @binding(5) var<storage, read_write> pos: array<i32>;
@group(0) @binding(6) var<storage, read_write> done: array<u32>;
@group(0) @binding(7) var<storage, read> rows: array<u32>;

const WG = 256u;
const NEG = -3.0e38;

var<workgroup> redf: array<f32, 256>;
var<workgroup> redu: array<u32, 256>;
var<workgroup> total: f32;
var<workgroup> pick: u32;
var<workgroup> cfg: array<u32, 8>;

var<private> lid: u32;
var<private> base: u32;
var<private> penalty: f32;

fn pcg(x: u32) -> u32 {
  let s = x * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

// Order-preserving key: a < b as floats exactly when key(a) < key(b).
fn key(x: f32) -> u32 {
  let u = bitcast<u32>(x);
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}

fn penalised(i: u32) -> f32 {
  var x = logits[base + i];
  if (penalty != 1.0 && seen[base + i] != 0u) {
    x = select(x * penalty, x / penalty, x > 0.0);
  }
  return x;
}

fn reduce_sum(x: f32) -> f32 {
  workgroupBarrier(); // earlier readers of redf are done
  redf[lid] = x;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { redf[lid] += redf[lid + s]; }
  }
  return workgroupUniformLoad(&redf[0]);
}

// Sum over kept entries (key >= t) of 1 (count) or exp(x - m) (mass).
fn above(t: u32, m: f32, count: bool) -> f32 {
  var acc = 0.0;
  for (var i = lid; i < p.v; i += WG) {
    let x = logits[base + i];
    if (key(x) >= t) { acc += select(exp(x - m), 1.0, count); }
  }
  return reduce_sum(acc);
}

// The largest key t in [lo0, hi0) with above(t) >= goal, given above(lo0) >= goal.
fn largest(lo0: u32, hi0: u32, goal: f32, m: f32, count: bool) -> u32 {
  var lo = lo0;
  var hi = hi0;
  loop {
    if (hi - lo <= 1u) { break; }
    let mid = lo + (hi - lo) / 2u;
    if (above(mid, m, count) >= goal) { lo = mid; } else { hi = mid; }
  }
  return lo;
}

fn is_eos(t: i32) -> bool {
  for (var e = 0u; e < p.n_eos; e++) {
    if (i32(p.eos[e / 4u][e % 4u]) == t) { return true; }
  }
  return false;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  lid = li;
  let b = wid.x + wid.y * nwg.x;
  if (b >= p.b) { return; } // uniform: the same for the whole workgroup
  base = b * p.v;
  if (lid < 8u) { cfg[lid] = rows[b * 8u + lid]; }
  // This row's settings, uniform across the workgroup: they guard barriers.
  let rc = workgroupUniformLoad(&cfg);
  let do_sample = rc[0] != 0u;
  let temperature = bitcast<f32>(rc[1]);
  let top_k = rc[2];
  let top_p = bitcast<f32>(rc[3]);
  penalty = bitcast<f32>(rc[4]);

  // Pass 1: processed logits, the maximum and its first index.
  var m = NEG;
  var am = 0xffffffffu;
  for (var i = lid; i < p.v; i += WG) {
    var x = penalised(i);
    if (do_sample) {
      x = x / temperature;
      logits[base + i] = x;
    }
    if (x > m) { m = x; am = i; }
  }
  redf[lid] = m;
  redu[lid] = am;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) {
      let y = redf[lid + s];
      let j = redu[lid + s];
      if (y > redf[lid] || (y == redf[lid] && j < redu[lid])) {
        redf[lid] = y;
        redu[lid] = j;
      }
    }
  }
  let mx = workgroupUniformLoad(&redf[0]);
  if (lid == 0u) { pick = redu[0]; }

  if (do_sample) {
    let top = key(mx) + 1u; // above(top) = 0
    var t = 0u;             // above(0) = everything
    if (top_k > 0u && top_k < p.v) { t = largest(0u, top, f32(top_k), mx, true); }
    if (top_p < 1.0) {
      let z = above(t, mx, false);
      t = largest(t, top, top_p * z, mx, false);
    }
    // Inverse CDF: thread lid owns indices [lid * c, lid * c + c).
    let c = (p.v + WG - 1u) / WG;
    let i0 = min(lid * c, p.v);
    let i1 = min(i0 + c, p.v);
    var mine = 0.0;
    for (var i = i0; i < i1; i++) {
      let x = logits[base + i];
      if (key(x) >= t) { mine += exp(x - mx); }
    }
    workgroupBarrier();
    redf[lid] = mine;
    workgroupBarrier();
    if (lid == 0u) {
      var acc = 0.0;
      for (var j = 0u; j < WG; j++) {
        let y = redf[j];
        redf[j] = acc; // exclusive prefix
        acc += y;
      }
      total = acc;
    }
    let z = workgroupUniformLoad(&total);
    let r = f32(pcg(pcg(pcg(rc[5]) + rc[6]) + rc[7] + p.step) >> 8u) * (1.0 / 16777216.0);
    let u = r * z;
    let before = redf[lid];
    // Exactly one thread's [before, before + mine) holds u; rounding inside the chunk falls back
    // to its last kept token.
    if (mine > 0.0 && u >= before && u < before + mine) {
      var run = before;
      var chosen = 0xffffffffu;
      for (var i = i0; i < i1; i++) {
        let x = logits[base + i];
        if (key(x) >= t) {
          chosen = i;
          run += exp(x - mx);
          if (run > u) { break; }
        }
      }
      pick = chosen;
    }
  }
  workgroupBarrier();
  if (lid == 0u) {
    let finished = done[b] != 0u;
    let tok = select(i32(pick), i32(p.pad), finished);
    tokens[b * p.max_new + p.step] = tok;
    next[b] = tok;
    pos[b] = pos[b] + 1;
    if (penalty != 1.0 && !finished) { seen[base + u32(tok)] = 1u; }
    if (is_eos(tok)) { done[b] = 1u; }
  }
}
