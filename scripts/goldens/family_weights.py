# Deterministic weights for torchvision's ResNet family, reproducible bit for bit in TypeScript
# (test/reference/family-weights.ts) so that no weights are shipped: numpy only, vectorised.
#
# Element i of tensor `name` under `seed` (all arithmetic on uint32, wrapping):
#   mix(x)  = x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16
#   fnv(s)  = FNV-1a 32-bit over the UTF-8 bytes of s (offset 0x811c9dc5, prime 0x01000193)
#   key     = mix(mix(seed) ^ fnv(name))
#   h(i)    = mix(mix(i) ^ key)                  i = flat C-order index
#   u(i)    = (h(i) >> 8) * 2^-24                a float32 in [0, 1), exact
#   v(i)    = f32(f32(u(i) * SPAN) + LOW)        SPAN, LOW float32 constants per tensor (below)
# Every step is exact or one correctly rounded float32 operation, hence identical in numpy and JS.
#
# Per tensor (LOW, SPAN); a = the bound of a symmetric uniform, computed in float64 (one division,
# one sqrt, both correctly rounded) then rounded to float32: LOW = f32(-a), SPAN = f32(2 a).
#   conv weight [O, I/g, k, k], fan = I/g * k * k; D = the network's number of blocks (distinct
#   `layerL.B` prefixes); the branch's last conv is conv3 when the network has any conv3, else conv2:
#     the stem and every branch conv but the last   a = sqrt(6 / fan)        (He uniform: a ReLU follows)
#     the last conv of a branch                     a = sqrt(3 / (fan * D))  (branch variance ~ 1/D of
#                                                                             the stream's second moment)
#     downsample.0                                  a = sqrt(3 / fan)        (keeps the second moment)
#   Why: eval-mode BatchNorm with these running statistics does not renormalise, so with He scaling on
#   every conv each block about doubles the stream's variance (resnet152's logits reach 1e10). With the
#   scaling above the stream stays O(1) through 50 blocks (rms ~1.2..2.2, max ~8..14, logits |.| < 3 at
#   40x48), while every branch is a live fraction of its block (std of the branch over std of the skip
#   0.15 .. 0.8 per block) and every BatchNorm keeps non-trivial statistics.
#   BatchNorm weight             [0.5, 1.5): LOW 0.5, SPAN 1          (never zero: branches stay live)
#   BatchNorm bias               [-0.1, 0.1): LOW f32(-0.1), SPAN f32(0.2)
#   running_mean                 [-0.1, 0.1)
#   running_var                  [0.5, 1.5)
#   fc.weight [1000, F]          a = sqrt(1 / F) (PyTorch's Linear default bound)
#   fc.bias                      [-0.1, 0.1)
#   num_batches_tracked          not generated (int64, unused in eval)
# Inputs use the same hash with their own name (e.g. 'input'), LOW -2, SPAN 4: f32 values in [-2, 2).
import hashlib, math, re

import numpy as np

U32 = np.uint32
M1 = U32(0x7feb352d)
M2 = U32(0x846ca68b)


def mix(x):
    """The 32-bit integer finaliser above, on a uint32 array (wrapping multiply)."""
    x = x ^ (x >> U32(16))
    x = x * M1
    x = x ^ (x >> U32(15))
    x = x * M2
    x = x ^ (x >> U32(16))
    return x


def mix_int(x):
    return int(mix(np.array([x & 0xffffffff], dtype=np.uint32))[0])


def fnv1a(s):
    h = 0x811c9dc5
    for b in s.encode('utf-8'):
        h = ((h ^ b) * 0x01000193) & 0xffffffff
    return h


def uniform(seed, name, count):
    """float32 [count] in [0, 1): u(i) above."""
    key = U32(mix_int(mix_int(seed) ^ fnv1a(name)))
    with np.errstate(over='ignore'):
        h = mix(mix(np.arange(count, dtype=np.uint32)) ^ key)
    return (h >> U32(8)).astype(np.float32) * np.float32(2.0 ** -24)


def affine(u, low, span):
    """f32(f32(u * span) + low), each operation one float32 rounding."""
    return (u * np.float32(span)) + np.float32(low)


def network_shape(names):
    """(D, last): the number of blocks and the index of each branch's last conv, from the names."""
    blocks = {m.group(1) for m in (re.match(r'(layer\d+\.\d+)\.', n) for n in names) if m}
    last = 3 if any(re.search(r'\.conv3\.weight$', n) for n in names) else 2
    return len(blocks), last


def tensor_range(name, shape, depth, last):
    """(LOW, SPAN) as float32 for a state-dict tensor, per the table in the header."""
    if name.endswith('num_batches_tracked'):
        raise ValueError('num_batches_tracked is not generated')
    if len(shape) == 4:
        fan = shape[1] * shape[2] * shape[3]
        if re.match(r'layer\d+\.\d+\.downsample\.0\.weight$', name):
            a = math.sqrt(3.0 / fan)
        elif re.match(rf'layer\d+\.\d+\.conv{last}\.weight$', name):
            a = math.sqrt(3.0 / (fan * depth))
        else:
            a = math.sqrt(6.0 / fan)
        return np.float32(-a), np.float32(2 * a)
    if name == 'fc.weight':
        a = math.sqrt(1.0 / shape[1])
        return np.float32(-a), np.float32(2 * a)
    if name.endswith('running_var') or (name.endswith('.weight') and len(shape) == 1):
        return np.float32(0.5), np.float32(1.0)
    if name.endswith('running_mean') or name.endswith('.bias'):
        return np.float32(-0.1), np.float32(0.2)
    raise ValueError(f'no rule for {name} {shape}')


def generate_tensor(seed, name, shape, low, span):
    count = int(np.prod(shape, dtype=np.int64))
    return affine(uniform(seed, name, count), low, span).reshape(shape)


def generate(names_shapes, seed):
    """{name: float32 ndarray} for every float tensor of a state dict (skips num_batches_tracked)."""
    floats = [(n, tuple(s)) for n, s in names_shapes if not n.endswith('num_batches_tracked')]
    depth, last = network_shape([n for n, _ in floats])
    return {n: generate_tensor(seed, n, s, *tensor_range(n, s, depth, last)) for n, s in floats}


def hash_input(seed, name, shape):
    """A float32 input tensor in [-2, 2) (already 'normalised': fed to the network as is)."""
    return generate_tensor(seed, name, shape, np.float32(-2.0), np.float32(4.0))


def tensor_sha256(a):
    return hashlib.sha256(np.ascontiguousarray(a, dtype='<f4').tobytes()).hexdigest()


if __name__ == '__main__':
    # Self-check and timing: `python3 family_weights.py` prints the first values of a few tensors.
    import time
    t0 = time.time()
    u = uniform(14, 'conv1.weight', 5)
    print('u(conv1.weight)[:5] =', [float(x) for x in u])
    print('mix(0), mix(1) =', mix_int(0), mix_int(1), ' fnv1a("fc.bias") =', fnv1a('fc.bias'))
    big = generate_tensor(14, 'layer3.0.conv2.weight', (2048, 64, 3, 3), *tensor_range('x', (2048, 64, 3, 3), 16, 3))
    print(f'{big.size} values in {time.time() - t0:.2f} s, range {big.min():.4f} .. {big.max():.4f}, std {big.std():.4f}')
