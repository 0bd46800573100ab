#!/usr/bin/python3
# Golden results of METHOD.md's dataset-probe analysis for a Bottleneck member of the family:
# torchvision resnet50 on the deterministic hash weights (family_weights.py, seed 14), blocks 1.0,
# 1.1, 2.0 and 3.1, on 24 hash-generated inputs, computed independently with PyTorch (issue 14: "the
# analysis (dataset mode, a few blocks) equal to an independent implementation as today for
# ResNet18"). Needs nothing from ../shared.
#
# usage: /usr/bin/python3 scripts/goldens/make_family_analysis_goldens.py [--dump CENTRES.safetensors]
#   Run ONCE with Debian's python3-torch 1.13 / python3-torchvision 0.14; never at test time. Writes
#   test/fixtures/goldens/analysis-resnet50-hash24.json. --dump also writes PyTorch's centre values
#   (`none/<tap>`, `zoomIn/<tap>`, `zoomOut/<tap>`, float32 [24, C]; not committed), as
#   make_analysis_goldens.py does, for checking the analysis code alone.
#
# Nothing here shares code with src/analysis: the per-block computation, the zoom operators and the
# centre-value hooks are make_analysis_goldens.py's (the ResNet18 golden's second implementation from
# METHOD.md's text), so both goldens have the same formulas, rounding and JSON layout and the tests
# that consume them share one comparison (test/helpers/analysis-golden.ts).
#
# Model: torchvision.models.resnet50() with family_weights.generate(state-dict names and shapes, 14)
#   (test/reference/family-weights.ts: familyWeights('resnet50', 14), bit-identical), eval mode,
#   float32, CPU. num_batches_tracked keeps its init (unused in eval).
# Images: from ONE hash tensor H = family_weights.hash_input(14, 'analysis images', [24, 3, 224, 224])
#   (TS: hashInput(14, 'analysis images', [24, 3, 224, 224])), float32 in [-2, 2). Image i, with
#   s = i % 5 and e = (i // 5) % 2, is piecewise constant on cells of 2^s x 2^s pixels:
#     X[i, c, y, x] = H[i, c, (y >> s) << s, (x >> s) << s] * 2^-e
#   (white noise at five scales and two contrasts, so that probes differ and zoom changes something;
#   index copies and a power-of-two scale, so exact in float32 in any language). X[i] is ALREADY the
#   normalised network input: no decoding, resizing or Normalize. Its name in the JSON is
#   'hash-%02d' % i (index = position = tie order). imagesTensor.sha256 is the SHA-256 of X's float32
#   little-endian bytes (C order, all 24 images), to check the TS construction before anything else.
#   Post-ReLU readouts (O, and I where it is a block output) are often exactly 0 on the k-th and
#   (k+1)-th image (a channel live on fewer than K+1 images): ties to the lower index, as everywhere.
# Zoom operators on that normalised tensor (METHOD.md, exactly as make_analysis_goldens.py):
#   S (zoom in): center_crop 112, F.interpolate to 224, bilinear, align_corners=False;
#   S^-1 (zoom out): F.interpolate to 112, bilinear, align_corners=False, antialias=False; reflect-pad 56.
#   The TS side applies src/image/zoom's zoomIn / zoomOut to the same tensors.
# Readouts of block layerL.B (METHOD.md's family rule): I = `layerL.B.downsample.1` if the block has a
#   downsample (in resnet50: 1.0, 2.0, 3.0, 4.0; 1.0 widens 64 -> 256), else the previous block's
#   output `layerL.(B-1)`; B = `layerL.B.bn3` (the branch's last BN, before the addition; the hook
#   clones it: Bottleneck adds the skip into bn3's output in place); O = `layerL.B` (after the ReLU).
#   Value = centre unit [H // 2, W // 2] (224 input: 56 -> 28, 28 -> 14, 14 -> 7).
# Probes, M, SM_B, SM_I, categories, rounding, and the per-channel columns: exactly as
#   make_analysis_goldens.py (its header): top-K by centre value, ties to the lower image index, the
#   plain mean over the K images (math.fsum), post-ReLU variant, floats rounded to 7 significant digits.
#   K = 5 (of 24 images, so that probe sets differ between roles).
#
# How the TS test must consume it (to be written with the family engine):
#   weights  = familyWeights('resnet50', doc.seed)                       (test/reference/family-weights.ts)
#   X        = hashAnalysisImages(doc.seed, doc.imagesTensor.name, doc.imagesTensor.shape)
#              (test/reference/family-analysis.ts: H and the cells above); its SHA-256 equals
#              doc.imagesTensor.sha256 (test/reference-family-analysis-inputs.test.ts checks it)
#   images   = doc.images (names), image i = X[i], fed to the engine as an already normalised tensor
#   zoom     = src/image/zoom zoomIn / zoomOut on those tensors (no re-normalisation)
#   analysis = runDatasetAnalysis with blocks doc.blocks[*].block, topK = doc.topK, post-ReLU variant,
#              readouts I / B / O as listed per block (input / branch / output; familyReadouts in
#              test/reference/family-analysis.ts states the same rule)
#   compare  = as test/golden-analysis.test.ts: probe sets equal as sets, M / SM within 1e-3 relative,
#              categories equal, with its near-tie and near-threshold exceptions.
import hashlib, json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import torch
import torchvision
from common import OUT, versions
from family_weights import generate, hash_input
from make_analysis_goldens import measure_blocks

SEED = 14
ARCH = 'resnet50'
N_IMAGES = 24
K = 5
BLOCKS = ['1.0', '1.1', '2.0', '3.1']
IMAGES_NAME = 'analysis images'


def images(h):
    """Image i from the hash tensor H: cells of 2^s pixels (s = i % 5) taking H's value at the cell's
    top-left pixel, times 2^-e (e = (i // 5) % 2). Index copies and a power-of-two scaling: exact."""
    out = np.empty_like(h)
    for i in range(h.shape[0]):
        s, e = i % 5, (i // 5) % 2
        ys = (np.arange(h.shape[2]) >> s) << s
        xs = (np.arange(h.shape[3]) >> s) << s
        out[i] = h[i][:, ys][:, :, xs] * np.float32(2.0 ** -e)
    return out


def load_model():
    torch.manual_seed(0)
    m = getattr(torchvision.models, ARCH)()
    w = generate([(k, tuple(v.shape)) for k, v in m.state_dict().items()], SEED)
    result = m.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=False)
    assert not result.unexpected_keys and all(k.endswith('num_batches_tracked') for k in result.missing_keys)
    m.eval()
    return m


def readouts(model, block):
    L, B = (int(p) for p in block.split('.'))
    name = f'layer{L}.{B}'
    has_downsample = getattr(model, f'layer{L}')[B].downsample is not None
    inp = f'{name}.downsample.1' if has_downsample else f'layer{L}.{B - 1}'
    return {'block': block, 'input': inp, 'branch': f'{name}.bn3', 'output': name}


def main():
    args = sys.argv[1:]
    dump = None
    if '--dump' in args:
        i = args.index('--dump')
        dump = args[i + 1]
        del args[i:i + 2]
    torch.set_num_threads(2)
    t0 = time.time()
    model = load_model()
    shape = [N_IMAGES, 3, 224, 224]
    xn = images(hash_input(SEED, IMAGES_NAME, shape))
    x = torch.from_numpy(xn)
    names = [f'hash-{i:02d}' for i in range(N_IMAGES)]
    ro = [readouts(model, b) for b in BLOCKS]
    last_stage = max(int(b.split('.')[0]) for b in BLOCKS)
    out_blocks, summary = measure_blocks(model, x, ro, names, K, dump, last_stage, batch=8)

    doc = {
        'about': 'METHOD.md dataset-probe analysis of a Bottleneck ResNet computed with PyTorch by '
                 'scripts/goldens/make_family_analysis_goldens.py (see its header for every convention and how to consume this)',
        'arch': ARCH,
        'seed': SEED,
        'weights': f'torchvision.models.{ARCH}() with family_weights.generate(state dict, {SEED}) '
                   f"(TS: familyWeights('{ARCH}', {SEED})), eval()",
        'imagesTensor': {'name': IMAGES_NAME, 'shape': shape, 'range': [-2, 2],
                         'sha256': hashlib.sha256(np.ascontiguousarray(xn, dtype='<f4').tobytes()).hexdigest(),
                         'about': f"H = hash_input({SEED}, '{IMAGES_NAME}', {shape}); X[i, c, y, x] = H[i, c, (y >> s) << s, (x >> s) << s] * 2^-e, "
                                  's = i % 5, e = (i // 5) % 2; image i = X[i], already normalised; sha256 is of X'},
        'preprocess': 'none: each image is the normalised input tensor itself',
        'zoomIn': 'center_crop 112, F.interpolate to 224, bilinear, align_corners=False',
        'zoomOut': 'F.interpolate to 112, bilinear, align_corners=False, antialias=False; F.pad 56 reflect',
        'selection': f'all {N_IMAGES} images of the tensor, in order',
        'variant': 'post-relu',
        'topK': K,
        'versions': versions(),
        'images': names,
        'blocks': out_blocks,
    }
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f'analysis-{ARCH}-hash{N_IMAGES}.json')
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {path} ({os.path.getsize(path)} bytes) in {time.time() - t0:.1f} s')
    print('\n'.join(summary))


if __name__ == '__main__':
    main()
