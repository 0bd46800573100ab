# Shared pieces of the golden-fixture scripts in this folder (Debian's python3-torch 1.13,
# python3-torchvision 0.14, python3-pil 9.4). Conventions copied from
# ../shared/data/reference/make_reference.py: Pillow decoding with convert('RGB'), torchvision's eval
# transform, eval mode, float32 on the CPU.
#
# Run ONCE to make the committed fixtures; never at test time, never in CI.
import hashlib, json, os, struct, sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
SHARED = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'data'))
SAMPLES = os.path.join(SHARED, 'imagenet-samples')
WEIGHTS = os.path.join(SHARED, 'weights', 'resnet18-imagenet1k-v1-partial.pth')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'goldens')

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
# Exactly torchvision's eval transform (ImageNet classification, resnet18 IMAGENET1K_V1); Resize on a
# PIL image is Pillow's antialiased bilinear filter.
CROP = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
TO_TENSOR = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])

# The four 3x3 convolutions of layer4 that the partial checkpoint lacks (../shared/README.md).
MISSING_OK = {'layer4.0.conv1.weight', 'layer4.0.conv2.weight', 'layer4.1.conv1.weight', 'layer4.1.conv2.weight'}


def sample_files():
    """All shared samples, sorted by name (position = torchvision class index)."""
    if not os.path.isdir(SAMPLES):
        sys.exit(f'{SAMPLES} not found: these goldens are made from ../shared beside the checkout')
    files = sorted(f for f in os.listdir(SAMPLES) if f.endswith('.JPEG'))
    assert len(files) == 1000, f'expected 1000 samples, found {len(files)}'
    return files


def load_model():
    """torchvision resnet18 with the partial real weights (strict=False: only layer4's 3x3 convs stay
    at their random init, and nothing below layer4 reads them), eval mode."""
    torch.manual_seed(0)
    torch.set_num_threads(2)
    sd = torch.load(WEIGHTS, map_location='cpu')
    m = torchvision.models.resnet18()
    result = m.load_state_dict(sd, strict=False)
    missing = set(result.missing_keys)
    assert missing <= MISSING_OK, f'unexpected missing tensors: {sorted(missing - MISSING_OK)}'
    assert not result.unexpected_keys, f'unexpected tensors: {result.unexpected_keys}'
    m.eval()
    return m


def preprocess(path):
    """-> (float32 tensor [3, 224, 224], uint8 crop bytes)."""
    img = Image.open(path).convert('RGB')
    crop = CROP(img)
    return TO_TENSOR(crop), crop.tobytes()


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def save_safetensors(path, tensors, meta):
    """safetensors: 8-byte little-endian header length, JSON header, raw little-endian data."""
    header = {'__metadata__': {k: str(v) for k, v in meta.items()}}
    off = 0
    blobs = []
    for k, a in tensors.items():
        a = np.ascontiguousarray(a, dtype='<f4')
        b = a.tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def versions():
    import PIL
    return {'torch': torch.__version__, 'torchvision': torchvision.__version__, 'pillow': PIL.__version__,
            'numpy': np.__version__}
