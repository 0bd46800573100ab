#!/usr/bin/python3
# Golden fixtures for src/image/: Pillow's exact bytes for resizing and decoding.
#
# usage: /usr/bin/python3 scripts/make-resize-goldens.py
#   Run ONCE with Debian's python3-pil (Pillow 9.4, libjpeg-turbo 2.1); never at test time. It writes
#   test/fixtures/image/ (small: a few KB of images plus JSON). Tests read only what it wrote.
#
# What it records:
# 1. resize-goldens.json: synthetic images made from a 32-bit LCG (the same generator lives in
#    test/fixtures/image/synthetic.ts, so inputs are not stored; their sha256 is, as a check) and
#    Pillow's output of img.resize((w, h), Image.BILINEAR) -- sha256 of the bytes, and the bytes
#    themselves (base64) when small. Also torchvision's eval geometry, Resize(256) + CenterCrop(224),
#    computed with Pillow the way torchvision 0.14 does it (size rule and crop offsets copied below).
# 2. decode-goldens.json + small JPEG/PNG files: Image.open(f).convert('RGB') bytes for JPEGs of each
#    chroma subsampling, progressive, greyscale, CMYK, and PNGs of every colour type and bit depth.
#    Damaged variants record whether Pillow refuses them.
# 3. imagenet-hashes.json, only when ../shared/data/imagenet-samples exists: for a selection of the
#    shared ImageNet samples, sha256 of Pillow's decoded RGB and of the eval crop (Resize(256),
#    CenterCrop(224)). Hashes are summaries: no pixel of the shared data is copied.
import base64, hashlib, io, json, os, struct, sys, zlib

import PIL
from PIL import Image

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'image')
SHARED = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'data', 'imagenet-samples'))
os.makedirs(OUT, exist_ok=True)
INLINE_LIMIT = 2048  # bytes of output stored inline (base64); larger outputs are stored as sha256 only


def sha(b):
    return hashlib.sha256(b).hexdigest()


def lcg_bytes(n, seed):
    """The fixtures' generator: s = s * 1664525 + 1013904223 (mod 2^32), byte = s >> 24."""
    s = seed & 0xFFFFFFFF
    out = bytearray(n)
    for i in range(n):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = s >> 24
    return bytes(out)


def synthetic(kind, w, h, seed):
    """Must match test/fixtures/image/synthetic.ts exactly."""
    if kind == 'noise':
        data = lcg_bytes(w * h * 3, seed)
    elif kind == 'gradient':  # smooth ramps plus +-8 levels of noise
        noise = lcg_bytes(w * h * 3, seed)
        data = bytearray(w * h * 3)
        for y in range(h):
            for x in range(w):
                i = (y * w + x) * 3
                base = ((x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1), ((x + y) * 255) // max(w + h - 2, 1))
                for c in range(3):
                    data[i + c] = min(255, max(0, base[c] + (noise[i + c] >> 4) - 8))
        data = bytes(data)
    elif kind == 'blocks':  # 8x8 flat blocks of random colour: hard edges
        bw, bh = (w + 7) // 8, (h + 7) // 8
        colours = lcg_bytes(bw * bh * 3, seed)
        data = bytearray(w * h * 3)
        for y in range(h):
            for x in range(w):
                j = ((y // 8) * bw + (x // 8)) * 3
                data[(y * w + x) * 3:(y * w + x) * 3 + 3] = colours[j:j + 3]
        data = bytes(data)
    else:
        raise ValueError(kind)
    return Image.frombytes('RGB', (w, h), data)


def tv_resize_size(w, h, size):
    """torchvision 0.14 _compute_resized_output_size for an int size; returns (w, h)."""
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if w <= h else (new_long, new_short)


def tv_center_crop(img, ch, cw):
    """torchvision 0.14 F.center_crop on a PIL image (no padding case)."""
    w, h = img.size
    assert cw <= w and ch <= h
    top = int(round((h - ch) / 2.0))
    left = int(round((w - cw) / 2.0))
    return img.crop((left, top, left + cw, top + ch))


def tv_eval(img, resize=256, crop=224):
    img = img.resize(tv_resize_size(*img.size, resize), Image.BILINEAR)
    return tv_center_crop(img, crop, crop)


def record_bytes(b, limit=INLINE_LIMIT):
    r = {'sha256': sha(b)}
    if len(b) <= limit:
        r['base64'] = base64.b64encode(b).decode()
    return r


# ---------------------------------------------------------------------------------------------
# 1. Resize goldens
images = {
    'noise37x23': ('noise', 37, 23, 1),
    'noise1x9': ('noise', 1, 9, 2),
    'noise640x480': ('noise', 640, 480, 3),
    'gradient300x200': ('gradient', 300, 200, 4),
    'strip5x400': ('noise', 5, 400, 5),
    'blocks500x375': ('blocks', 500, 375, 6),
    'blocks333x500': ('blocks', 333, 500, 7),
}
cases = [
    ('noise37x23', {'size': [17, 11]}),    # downscale, odd ratio
    ('noise37x23', {'size': [80, 50]}),    # upscale
    ('noise37x23', {'size': [74, 46]}),    # exactly 2x
    ('noise37x23', {'size': [37, 11]}),    # vertical pass only
    ('noise37x23', {'size': [13, 23]}),    # horizontal pass only
    ('noise37x23', {'size': [37, 23]}),    # same size: a copy
    ('noise37x23', {'size': [1, 1]}),
    ('noise37x23', {'size': [36, 24]}),    # shrink one axis, grow the other
    ('noise37x23', {'resize': 16}),        # torchvision Resize(16)
    ('noise37x23', {'resize': 256}),       # torchvision Resize(256), upscale 11x
    ('noise1x9', {'size': [1, 4]}),
    ('noise1x9', {'size': [3, 9]}),
    ('noise640x480', {'size': [7, 5]}),    # 91x reduction: wide kernels
    ('noise640x480', {'size': [639, 479]}),
    ('noise640x480', {'resize': 256}),
    ('gradient300x200', {'resize': 256}),  # upscale
    ('gradient300x200', {'resize': 128}),
    ('gradient300x200', {'size': [97, 61]}),
    ('gradient300x200', {'eval': [256, 224]}),
    ('strip5x400', {'size': [3, 256]}),
    ('strip5x400', {'size': [5, 123]}),
    ('strip5x400', {'resize': 2}),
    ('strip5x400', {'resize': 64}),
    ('blocks500x375', {'resize': 256}),    # a typical ImageNet landscape image
    ('blocks500x375', {'eval': [256, 224]}),
    ('blocks500x375', {'size': [64, 48]}),
    ('blocks333x500', {'resize': 256}),    # portrait, odd width
    ('blocks333x500', {'eval': [256, 224]}),
    # The follow-up's robustness zoom as its imnet_val.py applies it to PIL images, for frac = i / 10:
    # Resize(256), CenterCrop(int(224 * ((2 - frac) - 1))), Resize(224). The zoom factor is s = 1 + frac.
    ('blocks500x375', {'zoom_frac': 0.1}),
    ('blocks500x375', {'zoom_frac': 0.3}),
    ('blocks333x500', {'zoom_frac': 0.5}),
    ('gradient300x200', {'zoom_frac': 0.2}),
]
resize_out = {'pillow': PIL.__version__, 'generator': 'LCG s = s*1664525 + 1013904223 mod 2^32, byte = s >> 24',
              'images': {}, 'cases': []}
made = {}
for name, (kind, w, h, seed) in images.items():
    made[name] = synthetic(kind, w, h, seed)
    resize_out['images'][name] = {'kind': kind, 'width': w, 'height': h, 'seed': seed,
                                  'sha256': sha(made[name].tobytes())}
for name, op in cases:
    img = made[name]
    if 'size' in op:
        out = img.resize(tuple(op['size']), Image.BILINEAR)
    elif 'resize' in op:
        out = img.resize(tv_resize_size(*img.size, op['resize']), Image.BILINEAR)
    elif 'eval' in op:
        out = tv_eval(img, *op['eval'])
    else:
        scale = 2 - op['zoom_frac']
        crop = int(224 * (scale - 1))
        out = img.resize(tv_resize_size(*img.size, 256), Image.BILINEAR)
        out = tv_center_crop(out, crop, crop)
        out = out.resize(tv_resize_size(*out.size, 224), Image.BILINEAR)
        op = {**op, 'zoom_crop': crop}
    b = out.tobytes()
    resize_out['cases'].append({'image': name, **op, 'width': out.size[0], 'height': out.size[1], **record_bytes(b)})
with open(os.path.join(OUT, 'resize-goldens.json'), 'w') as f:
    json.dump(resize_out, f, indent=1)
print('resize cases', len(resize_out['cases']))

# ---------------------------------------------------------------------------------------------
# 2. Decode goldens


def png_chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)


def make_png(w, h, depth, ctype, rows, palette=None, trns=None, interlace=0):
    """A PNG written by hand (filter 0 per row) so every colour type and depth can be exercised.
    rows: list of bytes, already packed at the given depth. Interlaced files re-pack per Adam7 pass."""
    raw = b''
    if interlace:
        raw = rows  # caller passes the whole interlaced stream
    else:
        raw = b''.join(b'\x00' + r for r in rows)
    out = b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, interlace))
    if palette is not None:
        out += png_chunk(b'PLTE', palette)
    if trns is not None:
        out += png_chunk(b'tRNS', trns)
    out += png_chunk(b'IDAT', zlib.compress(raw, 9)) + png_chunk(b'IEND', b'')
    return out


def pack_bits(values, depth):
    out = bytearray()
    acc, n = 0, 0
    for v in values:
        acc = (acc << depth) | v
        n += depth
        if n == 8:
            out.append(acc)
            acc, n = 0, 0
    if n:
        out.append(acc << (8 - n))
    return bytes(out)


def samples(n, seed, depth):
    b = lcg_bytes(n * (2 if depth == 16 else 1), seed)
    if depth == 16:
        return [(b[2 * i] << 8) | b[2 * i + 1] for i in range(n)]
    return [v >> (8 - depth) for v in b]


def png_rows(w, h, channels, depth, seed):
    vals = samples(w * h * channels, seed, depth)
    rows = []
    for y in range(h):
        row = vals[y * w * channels:(y + 1) * w * channels]
        if depth == 16:
            rows.append(b''.join(struct.pack('>H', v) for v in row))
        elif depth == 8:
            rows.append(bytes(row))
        else:
            rows.append(pack_bits(row, depth))
    return rows


def adam7(w, h, channels, depth, seed):
    """Interlaced stream for 8-bit data: the same pixels as png_rows, split into the 7 passes."""
    assert depth == 8
    rows = png_rows(w, h, channels, depth, seed)
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    out = b''
    for x0, y0, dx, dy in passes:
        for y in range(y0, h, dy):
            xs = range(x0, w, dx)
            if not len(xs):
                continue
            out += b'\x00' + b''.join(rows[y][x * channels:(x + 1) * channels] for x in xs)
    return out, rows


decode_out = {'pillow': PIL.__version__, 'files': []}


def add_file(fname, data, note):
    path = os.path.join(OUT, fname)
    with open(path, 'wb') as f:
        f.write(data)
    entry = {'file': fname, 'note': note}
    try:
        im = Image.open(io.BytesIO(data))
        entry['mode'] = im.mode
        rgb = im.convert('RGB')
        entry.update({'width': rgb.size[0], 'height': rgb.size[1], **record_bytes(rgb.tobytes(), 4800)})
        entry['pillow_ok'] = True
    except Exception as e:  # Pillow refuses it: the engine must refuse it too
        entry['pillow_ok'] = False
        entry['pillow_error'] = f'{type(e).__name__}: {e}'
    decode_out['files'].append(entry)
    return entry


# JPEGs. Content: a smooth gradient with hard-edged blocks on top, so chroma edges exist.
photo = synthetic('gradient', 45, 31, 11)
blocks = synthetic('blocks', 45, 31, 12)
mix = Image.blend(photo, blocks, 0.5)
small = Image.blend(synthetic('gradient', 21, 13, 13), synthetic('blocks', 21, 13, 14), 0.5)
jpeg_variants = [
    ('jpeg-444.jpg', mix, dict(quality=90, subsampling=0), '4:4:4 baseline'),
    ('jpeg-422.jpg', mix, dict(quality=90, subsampling=1), '4:2:2 baseline'),
    ('jpeg-420.jpg', mix, dict(quality=75, subsampling=2), '4:2:0 baseline'),
    ('jpeg-420-q30.jpg', mix, dict(quality=30, subsampling=2), '4:2:0 baseline, heavy quantisation'),
    ('jpeg-420-progressive.jpg', mix, dict(quality=85, subsampling=2, progressive=True), '4:2:0 progressive'),
    ('jpeg-444-progressive-opt.jpg', mix, dict(quality=95, subsampling=0, progressive=True, optimize=True), '4:4:4 progressive, optimised tables'),
    ('jpeg-420-small.jpg', small, dict(quality=80, subsampling=2), '4:2:0 21x13 (partial MCUs)'),
    ('jpeg-gray.jpg', mix.convert('L'), dict(quality=85), 'greyscale'),
    ('jpeg-gray-progressive.jpg', mix.convert('L'), dict(quality=85, progressive=True), 'greyscale progressive'),
    ('jpeg-cmyk.jpg', mix.convert('CMYK'), dict(quality=90), 'CMYK (Adobe, inverted)'),
    ('jpeg-tiny-2x2.jpg', mix.crop((0, 0, 2, 2)), dict(quality=90, subsampling=2), '2x2 4:2:0: downsampled width 1 (no fancy upsampling)'),
    ('jpeg-4x3.jpg', mix.crop((5, 5, 9, 8)), dict(quality=90, subsampling=2), '4x3 4:2:0: downsampled width 2'),
    ('jpeg-6x5.jpg', mix.crop((5, 5, 11, 10)), dict(quality=90, subsampling=2), '6x5 4:2:0: downsampled width 3'),
]
jpeg_bytes = {}
for fname, img, opts, note in jpeg_variants:
    b = io.BytesIO()
    img.save(b, 'JPEG', **opts)
    jpeg_bytes[fname] = b.getvalue()
    add_file(fname, b.getvalue(), note)

# Layouts Pillow cannot write, made with libjpeg itself through scripts/jpeg-variants.c (needs a C
# compiler and libjpeg's headers; skipped with a message otherwise).
import shutil, subprocess, tempfile
cc = shutil.which('cc') or shutil.which('gcc')
if cc and os.path.exists('/usr/include/jpeglib.h'):
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, 'jpeg-variants')
        subprocess.run([cc, '-O2', '-o', exe, os.path.join(ROOT, 'scripts', 'jpeg-variants.c'), '-ljpeg'], check=True)
        for fname, h0, v0, restart, prog, note in [
            ('jpeg-420-restart.jpg', 2, 2, 3, 0, '4:2:0 baseline, restart every 3 MCUs'),
            ('jpeg-444-restart1.jpg', 1, 1, 1, 0, '4:4:4 baseline, restart every MCU'),
            ('jpeg-420-progressive-restart.jpg', 2, 2, 2, 1, '4:2:0 progressive, restart every 2 MCUs'),
            ('jpeg-440.jpg', 1, 2, 0, 0, '4:4:0 (h1v2 fancy upsampling)'),
            ('jpeg-411.jpg', 4, 1, 0, 0, '4:1:1 (generic replication)'),
            ('jpeg-410-restart.jpg', 4, 2, 5, 0, '4x2 luma: replication both ways, restarts'),
        ]:
            out = os.path.join(tmp, fname)
            subprocess.run([exe, out, str(mix.size[0]), str(mix.size[1]), '85', str(h0), str(v0), str(restart), str(prog)],
                           input=mix.tobytes(), check=True)
            with open(out, 'rb') as f:
                add_file(fname, f.read(), note + ' (libjpeg via jpeg-variants.c)')
else:
    print('no C compiler or jpeglib.h: restart-interval and 4:4:0 / 4:1:1 fixtures not made')

# Damaged JPEGs: Pillow's verdict is recorded; the engine must refuse every file Pillow refuses.
base = jpeg_bytes['jpeg-420.jpg']
add_file('bad-jpeg-truncated-half.jpg', base[:len(base) // 2], 'cut in the middle of the entropy-coded data')
add_file('bad-jpeg-header-only.jpg', base[:300], 'cut inside the headers')
add_file('bad-jpeg-no-eoi.jpg', base[:-2], 'complete except the end-of-image marker')
prog = jpeg_bytes['jpeg-420-progressive.jpg']
add_file('bad-jpeg-progressive-truncated.jpg', prog[:len(prog) * 2 // 3], 'progressive, cut after some scans')

# PNGs of every colour type and depth, 7x5 (odd sizes; bit packing crosses bytes).
W, H = 7, 5
pal = lcg_bytes(16 * 3, 21)
png_variants = [
    ('png-rgb8.png', make_png(W, H, 8, 2, png_rows(W, H, 3, 8, 31)), 'RGB 8-bit'),
    ('png-rgba8.png', make_png(W, H, 8, 6, png_rows(W, H, 4, 8, 32)), 'RGBA 8-bit: alpha dropped'),
    ('png-gray8.png', make_png(W, H, 8, 0, png_rows(W, H, 1, 8, 33)), 'L 8-bit'),
    ('png-graya8.png', make_png(W, H, 8, 4, png_rows(W, H, 2, 8, 34)), 'LA 8-bit'),
    ('png-gray1.png', make_png(W, H, 1, 0, png_rows(W, H, 1, 1, 35)), '1-bit'),
    ('png-gray2.png', make_png(W, H, 2, 0, png_rows(W, H, 1, 2, 36)), '2-bit grey'),
    ('png-gray4.png', make_png(W, H, 4, 0, png_rows(W, H, 1, 4, 37)), '4-bit grey'),
    ('png-gray16.png', make_png(W, H, 16, 0, png_rows(W, H, 1, 16, 38)), '16-bit grey (Pillow mode I, clipped to 255)'),
    ('png-gray16-low.png', make_png(W, H, 16, 0, [bytes(b for v in r for b in (0, v)) for r in png_rows(W, H, 1, 8, 39)]), '16-bit grey, values < 256'),
    ('png-graya16.png', make_png(W, H, 16, 4, png_rows(W, H, 2, 16, 40)), 'LA 16-bit'),
    ('png-rgb16.png', make_png(W, H, 16, 2, png_rows(W, H, 3, 16, 41)), 'RGB 16-bit'),
    ('png-rgba16.png', make_png(W, H, 16, 6, png_rows(W, H, 4, 16, 42)), 'RGBA 16-bit'),
    ('png-pal8.png', make_png(W, H, 8, 3, [bytes(v & 15 for v in r) for r in png_rows(W, H, 1, 8, 43)], palette=pal), 'palette 8-bit'),
    ('png-pal4-trns.png', make_png(W, H, 4, 3, png_rows(W, H, 1, 4, 44), palette=pal, trns=bytes(range(0, 256, 17))), 'palette 4-bit with tRNS'),
    ('png-rgb8-trns.png', make_png(W, H, 8, 2, png_rows(W, H, 3, 8, 45), trns=struct.pack('>HHH', *png_rows(W, H, 3, 8, 45)[0][:3])), 'RGB with tRNS colour (first pixel)'),
    ('png-gray8-trns.png', make_png(W, H, 8, 0, png_rows(W, H, 1, 8, 46), trns=struct.pack('>H', png_rows(W, H, 1, 8, 46)[0][0])), 'L with tRNS grey'),
]
stream, _ = adam7(W, H, 3, 8, 47)
png_variants.append(('png-rgb8-interlaced.png', make_png(W, H, 8, 2, stream, interlace=1), 'RGB 8-bit Adam7'))
png_bytes = {}
for fname, data, note in png_variants:
    png_bytes[fname] = data
    add_file(fname, data, note)
b = png_bytes['png-rgb8.png']
add_file('png-rgb8-cut-checksum.png', b[:len(b) - 20], 'cut after the last pixel row, inside the zlib checksum: Pillow still decodes it')
add_file('bad-png-truncated.png', b[:len(b) // 2], 'cut inside IDAT, pixel rows missing')
add_file('bad-png-header-only.png', b[:33], 'signature and IHDR only')
add_file('bad-png-zero-size.png', make_png(0, 0, 8, 2, []), 'IHDR declares 0x0')
add_file('bad-png-huge.png', b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', struct.pack('>IIBBBBB', 100000, 100000, 8, 2, 0, 0, 0)) + png_chunk(b'IEND', b''), 'IHDR declares 100000x100000')
add_file('bad-random.bin', lcg_bytes(64, 99), 'random bytes')
with open(os.path.join(OUT, 'decode-goldens.json'), 'w') as f:
    json.dump(decode_out, f, indent=1)
print('decode files', len(decode_out['files']), [(e['file'], e['pillow_ok']) for e in decode_out['files'] if e['file'].startswith('bad')])

# ---------------------------------------------------------------------------------------------
# 3. Hashes of Pillow's decoding of shared ImageNet samples (summaries only)


def jpeg_layout(data):
    """(sof marker, sampling string) from the frame header."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        m = data[i + 1]
        if m in (0xD8, 0x01) or 0xD0 <= m <= 0xD7:
            i += 2
            continue
        n = (data[i + 2] << 8) | data[i + 3]
        if m in (0xC0, 0xC1, 0xC2):
            nc = data[i + 9]
            return m, ','.join('%d%d' % (data[i + 11 + 3 * k] >> 4, data[i + 11 + 3 * k] & 15) for k in range(nc))
        i += 2 + n
    return None


if os.path.isdir(SHARED):
    names = sorted(os.listdir(SHARED))
    by_layout = {}
    for n in names:
        with open(os.path.join(SHARED, n), 'rb') as f:
            lay = jpeg_layout(f.read())
        by_layout.setdefault(str(lay), []).append(n)
    chosen = ['n01440764_tench.JPEG']
    for lay, files in sorted(by_layout.items()):
        chosen += [f for f in files[:12] if f not in chosen]
    hashes = {'pillow': PIL.__version__, 'layouts': {k: len(v) for k, v in by_layout.items()}, 'files': []}
    for n in chosen:
        with open(os.path.join(SHARED, n), 'rb') as f:
            data = f.read()
        im = Image.open(io.BytesIO(data)).convert('RGB')
        hashes['files'].append({'file': n, 'layout': str(jpeg_layout(data)), 'width': im.size[0], 'height': im.size[1],
                                'rgb_sha256': sha(im.tobytes()), 'eval_sha256': sha(tv_eval(im).tobytes())})
    with open(os.path.join(OUT, 'imagenet-hashes.json'), 'w') as f:
        json.dump(hashes, f, indent=1)
    print('imagenet hashes', len(hashes['files']), hashes['layouts'])
else:
    print('no shared samples at', SHARED, '- imagenet-hashes.json not written')
