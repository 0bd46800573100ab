// The float64 CPU reference: straightforward loops, written for obviousness, not speed. Every
// kernel is checked against these. Tensors are NCHW Float64Arrays.

export function relu(x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = Math.max(x[i], 0);
  return y;
}
