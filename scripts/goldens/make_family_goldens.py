#!/usr/bin/python3
# PyTorch goldens for torchvision's ResNet family (issue 14), on deterministic hash weights that
# test/reference/family-weights.ts regenerates bit for bit (scripts/goldens/family_weights.py).
#
# usage: /usr/bin/python3 scripts/goldens/make_family_goldens.py [ARCH ...]
#   Run ONCE with Debian's python3-torch 1.13 / python3-torchvision 0.14; never at test time. Needs
#   nothing from ../shared. Writes, read by test/reference-family-arch.test.ts and
#   test/reference-family.test.ts:
#   test/fixtures/goldens/family-state-dicts.json   every constructor's state-dict names and shapes
#       (torchvision.models.<arch>(), all 10), and per arch the SHA-256 over all its hash-weight
#       tensors (float32 little-endian bytes, state-dict order, num_batches_tracked skipped)
#   test/fixtures/goldens/family-<arch>.safetensors  for resnet34, resnet50, resnext50_32x4d (or ARCH)
#
# Each golden: torchvision.models.<arch>() with the hash weights of SEED (load_state_dict; only the
# num_batches_tracked buffers keep their init), eval mode, float32, CPU, 2 threads; input
# hash_input(SEED, 'input', [2, 3, 40, 48]) (float32 in [-2, 2), fed as is: it stands for a normalised
# image). The block forward is written out from torchvision's Bottleneck / BasicBlock (same modules,
# same order) to expose every tap, cloned where taken; the script asserts that each block's output
# and the logits are bit-identical to the modules' own forward.
#
# Taps (METHOD.md; torchvision module names): input, conv1 (raw), bn1 (pre-ReLU), relu, maxpool; per
# block layerL.B.bn1, .bn2, .bn3 (Bottleneck) (pre-ReLU), .downsample.1 (where present), .skip (what
# the addition receives), .sum (branch + skip, before the final ReLU), layerL.B (after the ReLU);
# avgpool [N, C]; fc [N, 1000].
#
# Storage (every tap is recorded, but stored in full only when small, to keep each file near 1 MB):
#   tap with <= 4096 values: the whole tensor, under its name, in its shape;
#   larger tap: under its name, K = 1024 values at flat C-order indices
#       idx_j = floor(u_j * numel), u = family_weights.uniform(SEED, 'sample ' + tap, K)
#     (u_j * numel is exact in float64, so JS's Math.floor(u * numel) gives the same indices;
#     repeats are possible and harmless), and, for NCHW taps, under '<tap>/mean' the mean of every
#     [n, c] plane ([N, C], accumulated in float64, stored as float32), so every channel is covered.
#   metadata 'taps': JSON [[name, shape, absmax, 'full' | 'sampled'], ...] in forward order, absmax
#   being the largest |value| of the whole float32 tap (the scale the tolerance is relative to).
#   metadata 'weights_sha256': {name: SHA-256 of the tensor's float32 LE bytes}; 'input_sha256';
#   'top5': JSON [[class, ...] per image]; 'top6_gap': the smallest gap between consecutive logits
#   among each image's six largest (how far the top-5 is from a tie).
import hashlib, json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import torch
import torchvision
from common import OUT, save_safetensors, versions
from family_weights import generate, hash_input, tensor_sha256, uniform

SEED = 14
INPUT_SHAPE = (2, 3, 40, 48)
GOLDEN_ARCHS = ['resnet34', 'resnet50', 'resnext50_32x4d']
ALL_ARCHS = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'wide_resnet50_2', 'wide_resnet101_2',
             'resnext50_32x4d', 'resnext101_32x8d', 'resnext101_64x4d']
FULL_LIMIT = 4096
K = 1024


def build(arch):
    """torchvision model with the hash weights, eval mode; -> (model, {name: float32 ndarray})."""
    torch.manual_seed(0)
    m = getattr(torchvision.models, arch)()
    names_shapes = [(k, tuple(v.shape)) for k, v in m.state_dict().items()]
    w = generate(names_shapes, SEED)
    result = m.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=False)
    assert not result.unexpected_keys, result.unexpected_keys
    assert all(k.endswith('num_batches_tracked') for k in result.missing_keys), result.missing_keys
    m.eval()
    return m, w


def taps_of(m, x):
    """Every tap, forward order, as float32 ndarrays (each a copy, nothing aliased or in-place)."""
    taps = {}

    def put(name, t):
        taps[name] = t.detach().clone().numpy()

    put('input', x)
    y = m.conv1(x)
    put('conv1', y)
    y = m.bn1(y)
    put('bn1', y)
    y = m.relu(y)
    put('relu', y)
    y = m.maxpool(y)
    put('maxpool', y)
    for L in range(1, 5):
        for b, blk in enumerate(getattr(m, f'layer{L}')):
            name = f'layer{L}.{b}'
            convs = [(blk.conv1, blk.bn1), (blk.conv2, blk.bn2)]
            if isinstance(blk, torchvision.models.resnet.Bottleneck):
                convs.append((blk.conv3, blk.bn3))
            h = y
            for i, (conv, bn) in enumerate(convs):
                if i > 0:
                    h = blk.relu(h)  # in place on a tensor already cloned into taps
                h = bn(conv(h))
                put(f'{name}.bn{i + 1}', h)
            if blk.downsample is not None:
                skip = blk.downsample(y)
                put(f'{name}.downsample.1', skip)
            else:
                skip = y
            put(f'{name}.skip', skip)
            s = h + skip  # torchvision: out += identity, the same float32 addition
            put(f'{name}.sum', s)
            out = torch.relu(s)
            assert torch.equal(out, blk(y)), f'{name}: written-out block differs from the module'
            put(name, out)
            y = out
    pooled = torch.flatten(m.avgpool(y), 1)
    put('avgpool', pooled)
    logits = m.fc(pooled)
    put('fc', logits)
    assert torch.equal(logits, m(x)), 'logits differ from the module forward'
    return taps


def sample_indices(tap, numel):
    u = uniform(SEED, f'sample {tap}', K).astype(np.float64)
    return np.floor(u * numel).astype(np.int64)


def state_dicts():
    doc = {'about': 'torchvision.models.<arch>() state_dict() names and shapes (num_batches_tracked included, shape []), '
                    'and the SHA-256 over all hash-weight tensors of each arch (family_weights.py, seed '
                    f'{SEED}; float32 little-endian bytes concatenated in state-dict order, num_batches_tracked skipped); '
                    'written by scripts/goldens/make_family_goldens.py',
           'seed': SEED, 'versions': versions(), 'archs': {}}
    for arch in ALL_ARCHS:
        t0 = time.time()
        m = getattr(torchvision.models, arch)()
        sd = m.state_dict()
        names_shapes = [(k, list(v.shape)) for k, v in sd.items()]
        w = generate(names_shapes, SEED)
        h = hashlib.sha256()
        for k, _ in names_shapes:
            if k in w:
                h.update(np.ascontiguousarray(w[k], dtype='<f4').tobytes())
        doc['archs'][arch] = {'tensors': names_shapes, 'weights_sha256': h.hexdigest(),
                              'parameters': int(sum(v.numel() for k, v in sd.items() if not k.endswith('num_batches_tracked')))}
        print(f'  {arch}: {len(names_shapes)} entries, {doc["archs"][arch]["parameters"]} floats ({time.time() - t0:.1f} s)')
        del m, sd, w
    path = os.path.join(OUT, 'family-state-dicts.json')
    with open(path, 'w') as f:
        # One line per arch: compact, and diffs stay readable.
        f.write('{' + ','.join(f'\n{json.dumps(k)}:{json.dumps(v, separators=(",", ":"))}' for k, v in doc.items() if k != 'archs'))
        f.write(',\n"archs":{' + ','.join(f'\n{json.dumps(a)}:{json.dumps(v, separators=(",", ":"))}' for a, v in doc['archs'].items()))
        f.write('\n}}\n')
    print(f'wrote {path} ({os.path.getsize(path)} bytes)')


def golden(arch):
    t0 = time.time()
    m, w = build(arch)
    x = torch.from_numpy(hash_input(SEED, 'input', INPUT_SHAPE))
    with torch.no_grad():
        taps = taps_of(m, x)
    tensors, listing = {}, []
    for name, t in taps.items():
        absmax = float(np.abs(t).max())
        if t.size <= FULL_LIMIT:
            tensors[name] = t
            listing.append([name, list(t.shape), absmax, 'full'])
        else:
            tensors[name] = t.reshape(-1)[sample_indices(name, t.size)]
            if t.ndim == 4:
                tensors[f'{name}/mean'] = t.astype(np.float64).mean(axis=(2, 3)).astype(np.float32)
            listing.append([name, list(t.shape), absmax, 'sampled'])
    logits = taps['fc'].astype(np.float64)
    order = np.argsort(-logits, axis=1, kind='stable')
    top5 = order[:, :5].tolist()
    top6 = np.take_along_axis(logits, order[:, :6], axis=1)
    gaps = (top6[:, :-1] - top6[:, 1:]).min(axis=1).tolist()
    meta = {
        'arch': arch,
        'seed': SEED,
        'input': f'family_weights.hash_input({SEED}, "input", {list(INPUT_SHAPE)}): float32 in [-2, 2), fed as is',
        'input_shape': json.dumps(list(INPUT_SHAPE)),
        'input_sha256': tensor_sha256(taps['input']),
        'weights_sha256': json.dumps({k: tensor_sha256(v) for k, v in w.items()}, separators=(',', ':')),
        'taps': json.dumps(listing, separators=(',', ':')),
        'storage': f'tap with <= {FULL_LIMIT} values: whole; else {K} values at floor(uniform({SEED}, "sample " + tap, {K}) * numel) '
                   'and "<tap>/mean" [N, C] plane means (float64 accumulation)',
        'top5': json.dumps(top5),
        'top6_gap': json.dumps(gaps),
        'model': f'torchvision.models.{arch}(), hash weights load_state_dict (num_batches_tracked untouched), eval(), float32, CPU',
        'script': 'scripts/goldens/make_family_goldens.py',
        **versions(),
    }
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f'family-{arch}.safetensors')
    save_safetensors(path, tensors, meta)
    deep = [n for n in taps if n.startswith('layer4')][-1]
    print(f'wrote {path} ({os.path.getsize(path)} bytes) in {time.time() - t0:.1f} s; {len(taps)} taps; '
          f'|{deep}| max {np.abs(taps[deep]).max():.3f}, |fc| max {np.abs(taps["fc"]).max():.3f}; top5 {top5}; '
          f'top-6 gaps {["%.2e" % g for g in gaps]}')


def main():
    torch.set_num_threads(2)
    archs = sys.argv[1:] or GOLDEN_ARCHS
    if not sys.argv[1:]:
        state_dicts()
    for arch in archs:
        golden(arch)


if __name__ == '__main__':
    main()
