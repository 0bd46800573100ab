#!/usr/bin/python3
# Golden results of METHOD.md's dataset-probe analysis, computed independently with PyTorch (issue 5,
# "against PyTorch"), for blocks 1.1, 2.0, 2.1, 3.0 and 3.1 of the partial real weights.
#
# usage: /usr/bin/python3 scripts/goldens/make_analysis_goldens.py [N] [K] [--dump CENTRES.safetensors]
#   N images (default 40, the committed fixture), top-k K (default 9, the paper's k). Run ONCE with Debian's python3-torch 1.13 /
#   python3-torchvision 0.14 / python3-pil 9.4; never at test time. Writes
#   test/fixtures/goldens/analysis-<N>.json, read by test/golden-analysis.test.ts.
#   --dump also writes PyTorch's centre values themselves (`none/<tap>`, `zoomIn/<tap>`, `zoomOut/<tap>`,
#   float32 [N, C]; about 1 MB for 40 images, NOT committed): with GOLDEN_ANALYSIS_CENTRES=that file,
#   test/golden-analysis.test.ts feeds them to src/analysis instead of running the engine, which checks
#   the analysis code alone against this script (the result must agree exactly).
#
# Nothing here shares code with src/analysis: this is a second implementation from METHOD.md's text.
#
# Images: the shared samples sorted by name (position = class index), N of them evenly spaced:
#   step = 1000 // N, classes step // 2, step // 2 + step, ... (N = 40: 12, 37, 62, ..., 987).
#   Their order in that list is the image index used for ties and in the JSON.
# Each image: Image.open(f).convert('RGB'), Resize(256) (Pillow bilinear, antialiased), CenterCrop(224),
#   ToTensor, Normalize (torchvision's eval transform); resnet18 with the partial weights, strict=False,
#   eval mode, float32, CPU.
# Readouts of block layerL.B (METHOD.md): I = previous block's output `layerL.(B-1)` (plain block) or
#   `layerL.0.downsample.1` (downsampling block); B = `layerL.B.bn2` (before the addition); O =
#   `layerL.B` (after the ReLU). Each taken by a forward hook on that torchvision module, and cloned in
#   the hook (BasicBlock adds the skip into bn2's output in place). Value = centre unit [H // 2, W // 2].
# Probes: for each readout X and channel c, X*_c = the K images with the highest X_c centre value,
#   ties to the lower image index. A readout on a probe set is the plain mean over its K images.
# M_c = O(I*) / O(B*); O(B*) <= 0 and O(I*) <= 0: undefined (null); else O(B*) <= 0: 10; else
#   O(I*) <= 0: 0. Category: skip M >= 1.5, overwrite M <= 2/3, mixture strictly between.
# S (zoom in): centre-crop 112, bilinear resize to 224, align_corners=False, on the normalised tensor.
# S^-1 (zoom out): bilinear resize to 112 (align_corners=False, no antialias), reflect-pad 56.
# SM_B = [mean relu(B(S(I*))) - mean relu(B(I*))] / mean B(B*); null when mean B(B*) <= 0.
# SM_I = [mean relu(I(S^-1(B*))) - mean relu(I(B*))] / mean I(I*); null when mean I(I*) <= 0.
# scaleInvariant: SM_B > 0 and SM_I > 0 and 2/3 < M < 1.5 (false when any is null); noMix: the first two.
#
# Output (columnar, one entry per channel in each array; floats rounded to 7 significant digits):
#   images: file names (index = position); per block: input/branch/output tap names, probes
#   {input, branch, output} as image indices best first, mix, category, scaleBranch, scaleInput,
#   scaleInvariant, noMix, the raw probe-set readouts behind them (names as in src/analysis's
#   ChannelReadouts), and per role the k-th and (k+1)-th highest centre values and the largest |value|
#   over the set (for explaining top-k near-ties and near-zero comparisons).
import json, math, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch
import torch.nn.functional as F
from torchvision.transforms import functional as TF
import numpy as np
from common import OUT, SAMPLES, load_model, preprocess, sample_files, save_safetensors, versions

BLOCKS = ['1.1', '2.0', '2.1', '3.0', '3.1']


def readouts(block):
    L, B = (int(p) for p in block.split('.'))
    name = f'layer{L}.{B}'
    if B == 0:
        inp = f'layer{L}.0.downsample.1'
    else:
        inp = f'layer{L}.{B - 1}'
    return {'block': block, 'input': inp, 'branch': f'{name}.bn2', 'output': name}


def module_of(model, tap):
    m = model
    for part in tap.split('.'):
        m = m[int(part)] if part.isdigit() else getattr(m, part)
    return m


def zoom_in(x):
    return F.interpolate(TF.center_crop(x, [112, 112]), size=(224, 224), mode='bilinear', align_corners=False)


def zoom_out(x):
    return F.pad(F.interpolate(x, size=(112, 112), mode='bilinear', align_corners=False, antialias=False),
                 (56, 56, 56, 56), mode='reflect')


def centres(model, x, taps, last_stage=3, batch=20):
    """{tap: list over images of list over channels (python floats of the float32 centre values)},
    running the stem and layer1 .. layer<last_stage> (any torchvision ResNet)."""
    got = {t: [] for t in taps}
    current = {}

    def hook_for(tap):
        def hook(_m, _i, out):
            h, w = out.shape[2], out.shape[3]
            current[tap] = out[:, :, h // 2, w // 2].detach().clone()
        return hook

    handles = [module_of(model, t).register_forward_hook(hook_for(t)) for t in taps]
    with torch.no_grad():
        for b in range(0, x.shape[0], batch):
            current.clear()
            y = model.maxpool(model.relu(model.bn1(model.conv1(x[b:b + batch]))))
            for L in range(1, last_stage + 1):
                y = getattr(model, f'layer{L}')(y)
            for t in taps:
                got[t].extend(current[t].tolist())
    for h in handles:
        h.remove()
    return got


def mean(values):
    return math.fsum(values) / len(values)


def relu(v):
    return v if v > 0 else 0.0


def r7(x):
    if x is None:
        return None
    assert math.isfinite(x), x
    return float(f'{x:.7g}')


def analyse_block(r, plain, zin, zout, n, k):
    """One block's columns from the centre values (plain, zoomed in, zoomed out) of n images, probes of k."""
    def column(tap, c):
        return [plain[tap][i][c] for i in range(n)]

    def top(values):
        order = sorted(range(n), key=lambda i: (-values[i], i))
        return order[:k], values[order[k - 1]], values[order[k]]

    C = len(plain[r['branch']][0])
    cols = {key: [] for key in ('mix', 'category', 'scaleBranch', 'scaleInput', 'scaleInvariant', 'noMix')}
    probes = {'input': [], 'branch': [], 'output': []}
    rd = {key: [] for key in (
        'outputOnInput', 'outputOnBranch', 'branchOnInput', 'branchOnBranch', 'inputOnInput', 'inputOnBranch',
        'reluBranchOnInput', 'reluBranchOnZoomedInput', 'reluInputOnBranch', 'reluInputOnZoomedOutBranch')}
    ties = {role: {'kth': [], 'next': [], 'absmax': []} for role in ('input', 'branch', 'output')}
    for c in range(C):
        vals = {role: column(r[role], c) for role in ('input', 'branch', 'output')}
        stars = {}
        for role in ('input', 'branch', 'output'):
            idx, kth, nxt = top(vals[role])
            stars[role] = idx
            probes[role].append(idx)
            ties[role]['kth'].append(r7(kth))
            ties[role]['next'].append(r7(nxt))
            ties[role]['absmax'].append(r7(max(abs(v) for v in vals[role])))
        Istar, Bstar = stars['input'], stars['branch']
        I, B, O = vals['input'], vals['branch'], vals['output']
        o_i = mean([O[i] for i in Istar])
        o_b = mean([O[i] for i in Bstar])
        if o_i <= 0 and o_b <= 0:
            mix = None
        elif o_b <= 0:
            mix = 10.0
        elif o_i <= 0:
            mix = 0.0
        else:
            mix = o_i / o_b
        cat = None if mix is None else 'skip' if mix >= 1.5 else 'overwrite' if mix <= 2 / 3 else 'mixture'
        b_i = mean([B[i] for i in Istar])
        b_b = mean([B[i] for i in Bstar])
        i_i = mean([I[i] for i in Istar])
        i_b = mean([I[i] for i in Bstar])
        rb_i = mean([relu(B[i]) for i in Istar])
        rb_zi = mean([relu(zin[r['branch']][i][c]) for i in Istar])
        ri_b = mean([relu(I[i]) for i in Bstar])
        ri_zb = mean([relu(zout[r['input']][i][c]) for i in Bstar])
        sm_b = None if b_b <= 0 else (rb_zi - rb_i) / b_b
        sm_i = None if i_i <= 0 else (ri_zb - ri_b) / i_i
        no_mix = sm_b is not None and sm_i is not None and sm_b > 0 and sm_i > 0
        inv = no_mix and mix is not None and 2 / 3 < mix < 1.5
        cols['mix'].append(r7(mix))
        cols['category'].append(cat)
        cols['scaleBranch'].append(r7(sm_b))
        cols['scaleInput'].append(r7(sm_i))
        cols['scaleInvariant'].append(inv)
        cols['noMix'].append(no_mix)
        for key, v in (('outputOnInput', o_i), ('outputOnBranch', o_b), ('branchOnInput', b_i), ('branchOnBranch', b_b),
                       ('inputOnInput', i_i), ('inputOnBranch', i_b), ('reluBranchOnInput', rb_i),
                       ('reluBranchOnZoomedInput', rb_zi), ('reluInputOnBranch', ri_b), ('reluInputOnZoomedOutBranch', ri_zb)):
            rd[key].append(r7(v))
    block = {**r, 'channels': C, 'probes': probes, **cols, 'readouts': rd, 'ties': ties}
    cats = {x: cols['category'].count(x) for x in ('skip', 'mixture', 'overwrite', None)}
    line = (f'  {r["block"]}: {C} channels, skip {cats["skip"]} mixture {cats["mixture"]} overwrite {cats["overwrite"]} '
            f'undefined {cats[None]}; scale invariant {sum(cols["scaleInvariant"])}, no-mix {sum(cols["noMix"])}')
    return block, line


def measure_blocks(model, x, ro, names, k, dump=None, last_stage=3, batch=20):
    """Centre values of every readout of the blocks `ro` on x, S(x) and S^-1(x) (saved to `dump` when
    given), the check that O = relu(I + B), and each block's columns: (blocks, summary lines)."""
    taps = sorted({r[role] for r in ro for role in ('input', 'branch', 'output')})
    plain = centres(model, x, taps, last_stage, batch)
    zin = centres(model, zoom_in(x), sorted({r['branch'] for r in ro}), last_stage, batch)
    zout = centres(model, zoom_out(x), sorted({r['input'] for r in ro}), last_stage, batch)

    if dump:
        arrays = {}
        for prefix, got in (('none', plain), ('zoomIn', zin), ('zoomOut', zout)):
            for tap, rows in got.items():
                arrays[f'{prefix}/{tap}'] = np.array(rows, dtype=np.float32)
        save_safetensors(dump, arrays, {'images': json.dumps(names)})
        print(f'wrote {dump}')

    # The hooks saw B before the in-place addition: O = relu(I + B) exactly, as the block computes it
    # (for a downsampling block I is the downsample output, which is what the addition receives).
    for r in ro:
        I, B, O = (torch.tensor(plain[r[role]]) for role in ('input', 'branch', 'output'))
        assert torch.equal(torch.relu(I + B), O), f'block {r["block"]}: O != relu(I + B)'

    out_blocks, summary = [], []
    for r in ro:
        block, line = analyse_block(r, plain, zin, zout, x.shape[0], k)
        out_blocks.append(block)
        summary.append(line)
    return out_blocks, summary


def main():
    args = sys.argv[1:]
    dump = None
    if '--dump' in args:
        i = args.index('--dump')
        dump = args[i + 1]
        del args[i:i + 2]
    n = int(args[0]) if len(args) > 0 else 40
    k = int(args[1]) if len(args) > 1 else 9
    assert 1 <= k < n <= 1000
    files = sample_files()
    step = 1000 // n
    classes = [step // 2 + step * i for i in range(n)]
    names = [files[c] for c in classes]
    t0 = time.time()
    model = load_model()
    x = torch.stack([preprocess(os.path.join(SAMPLES, f))[0] for f in names])
    ro = [readouts(b) for b in BLOCKS]
    out_blocks, summary = measure_blocks(model, x, ro, names, k, dump)

    doc = {
        'about': 'METHOD.md dataset-probe analysis computed with PyTorch by scripts/goldens/make_analysis_goldens.py (see its header for every convention)',
        'weights': 'resnet18-imagenet1k-v1-partial.pth, load_state_dict(strict=False), eval()',
        'preprocess': 'PIL convert(RGB); Resize(256) bilinear antialias; CenterCrop(224); ToTensor; Normalize(mean=[0.485,0.456,0.406], std=[0.229,0.224,0.225])',
        'zoomIn': 'center_crop 112, F.interpolate to 224, bilinear, align_corners=False',
        'zoomOut': 'F.interpolate to 112, bilinear, align_corners=False, antialias=False; F.pad 56 reflect',
        'selection': f'shared imagenet-samples sorted by name; classes {step // 2} + {step} * i for i < {n}',
        'variant': 'post-relu',
        'topK': k,
        'versions': versions(),
        'images': names,
        'classes': classes,
        'blocks': out_blocks,
    }
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f'analysis-{n}.json')
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {path} ({os.path.getsize(path)} bytes) in {time.time() - t0:.1f} s')
    print('\n'.join(summary))


if __name__ == '__main__':
    main()
