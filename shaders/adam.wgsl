// adam.wgsl: one step of torch.optim.Adam (amsgrad=False, weight_decay=0, maximize=False) over a
// flat parameter array, with PyTorch's update formula and bias corrections:
//
//   m = m + (1 - beta1) * (g - m)            (torch: exp_avg.lerp_(grad, 1 - beta1))
//   v = v * beta2 + (1 - beta2) * g * g      (exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2))
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
//   p = p - (lr / (1 - beta1^t)) * m / denom
//
// The scalars 1 - beta1, 1 - beta2, stepSize = lr / (1 - beta1^t) and correction2Sqrt =
// sqrt(1 - beta2^t) are computed on the host in float64 (PyTorch computes them as Python floats)
// and passed per step, rounded once to float32.
//
// Params (binding 0) is declared in src/kernels/adam.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { count: u32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, eps: f32,
//                        stepSize: f32, correction2Sqrt: f32 }
//   1 grad   : storage read,       array<f32>   [count]
//   2 p      : storage read_write, array<f32>   [count] the parameter, updated in place
//   3 m      : storage read_write, array<f32>   [count] first moment (exp_avg), starts at 0
//   4 v      : storage read_write, array<f32>   [count] second moment (exp_avg_sq), starts at 0
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(count, WG).
// Invariants: one thread per element; threads past `count` return.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  let g = grad[i];
  let mi = m[i] + params.oneMinusBeta1 * (g - m[i]);
  let vi = v[i] * params.beta2 + params.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let denom = sqrt(vi) / params.correction2Sqrt + params.eps;
  p[i] = p[i] - params.stepSize * (mi / denom);
}
