// The bf16-weight variant of a vec4 matmul kernel, derived from its f32 source instead of kept as a
// twin file: b becomes array<vec2u> (4 bf16 values per element, element 2i in the low half of each
// u32, 2i + 1 in the high half) and widen() turns each into a vec4f as it is loaded; a and c stay
// f32 (the variant runs with T = f32). The source declares both lines exactly as matched here.

const ELEMENT = "alias BVec = vec4<T>;";
const WIDEN = "fn widen(w: BVec) -> vec4f { return vec4f(w); }";
// bf16 is the top half of an f32: shift or mask each half into place.
const WIDEN_BF16 = `fn widen(w: BVec) -> vec4f {
  return bitcast<vec4f>(vec4u(w.x << 16u, w.x & 0xffff0000u, w.y << 16u, w.y & 0xffff0000u));
}`;

/** `source` with its b read as bf16 weights; throws when the source lacks the two lines. */
export function bf16Weights(source: string, name: string): string {
  for (const line of [ELEMENT, WIDEN]) {
    if (source.split(line).length !== 2) {
      throw new Error(`Cannot derive ${name}: its source must declare "${line}" exactly once`);
    }
  }
  return source.replace(ELEMENT, "alias BVec = vec2u;").replace(WIDEN, WIDEN_BF16);
}
