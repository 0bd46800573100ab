#!/usr/bin/python3
# Golden summaries of PyTorch's `layer3.1` tap on 50 shared ImageNet samples (issue 3, end to end).
#
# usage: /usr/bin/python3 scripts/goldens/make_layer3_goldens.py
#   Run ONCE with Debian's python3-torch 1.13 / python3-torchvision 0.14 / python3-pil 9.4; never at
#   test time. Writes test/fixtures/goldens/layer3-50.safetensors (about 150 KB), read by
#   test/golden-layer3.test.ts.
#
# Images: the shared samples sorted by name (position = class index), classes 0, 20, 40, ..., 980.
# Each: Image.open(f).convert('RGB'), Resize(256) (Pillow bilinear, antialiased), CenterCrop(224),
# ToTensor, Normalize -- torchvision's eval transform -- through torchvision's resnet18 with the
# partial real weights (../shared/data/weights, strict=False), eval mode, float32, CPU.
#
# What is stored per image n (no pixel and no full tap of the shared data is copied):
#   centre [50, 256]  the tap's centre unit, position [7, 7] of the 14 x 14 map (METHOD.md's readout)
#   mean   [50, 256]  per-channel spatial mean over the 14 x 14 map (accumulated in float64)
#   max    [50, 256]  per-channel spatial maximum
#   absmax [50]       the tap's largest |value| over all channels and positions (the DESIGN.md scale)
# and in the metadata: the file names, sha256 of each uint8 crop (Resize + CenterCrop, RGB bytes) and of
# each float32 input tensor (little-endian bytes, C-contiguous [3, 224, 224]), so a test can tell an
# image-path difference from an engine difference.
import json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import torch
from common import OUT, SAMPLES, load_model, preprocess, sample_files, save_safetensors, sha256, versions

STEP = 20
TAP = 'layer3.1'


def main():
    files = sample_files()
    chosen = [(c, files[c]) for c in range(0, 1000, STEP)]
    assert len(chosen) == 50
    m = load_model()
    xs, crop_hashes, input_hashes = [], [], []
    for _, f in chosen:
        x, crop = preprocess(os.path.join(SAMPLES, f))
        xs.append(x)
        crop_hashes.append(sha256(crop))
        input_hashes.append(sha256(x.numpy().astype('<f4').tobytes()))
    x = torch.stack(xs)
    captured = {}
    hook = m.layer3[1].register_forward_hook(lambda _m, _i, out: captured.__setitem__(TAP, out.detach().clone()))
    with torch.no_grad():
        outs = []
        for b in range(0, len(chosen), 10):
            y = m.layer3(m.layer2(m.layer1(m.maxpool(m.relu(m.bn1(m.conv1(x[b:b + 10])))))))
            assert torch.equal(y, captured[TAP])
            outs.append(captured[TAP])
    hook.remove()
    t = torch.cat(outs).numpy()  # [50, 256, 14, 14] float32
    assert t.shape == (50, 256, 14, 14), t.shape
    H, W = t.shape[2:]
    cy, cx = H // 2, W // 2
    tensors = {
        'centre': t[:, :, cy, cx],
        'mean': t.astype(np.float64).mean(axis=(2, 3)).astype(np.float32),
        'max': t.max(axis=(2, 3)),
        'absmax': np.abs(t).max(axis=(1, 2, 3)),
    }
    meta = {
        'tap': TAP,
        'selection': f'shared imagenet-samples sorted by name, classes range(0, 1000, {STEP})',
        'files': json.dumps([f for _, f in chosen]),
        'classes': json.dumps([c for c, _ in chosen]),
        'crop_sha256': json.dumps(crop_hashes),
        'input_sha256': json.dumps(input_hashes),
        'centre': f'[{cy}, {cx}] of the {H}x{W} map',
        'preprocess': 'PIL convert(RGB); Resize(256) bilinear antialias; CenterCrop(224); ToTensor; Normalize(mean=[0.485,0.456,0.406], std=[0.229,0.224,0.225])',
        'weights': 'resnet18-imagenet1k-v1-partial.pth, load_state_dict(strict=False), eval()',
        'script': 'scripts/goldens/make_layer3_goldens.py',
        **versions(),
    }
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, 'layer3-50.safetensors')
    save_safetensors(path, tensors, meta)
    print(f'wrote {path} ({os.path.getsize(path)} bytes); absmax range {tensors["absmax"].min():.3f} .. {tensors["absmax"].max():.3f}')


if __name__ == '__main__':
    main()
