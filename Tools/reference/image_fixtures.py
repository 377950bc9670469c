"""Image-decoding fixtures and their golden RGB bytes.

Writes Tests/Fixtures/images/: small encoded images (cut from the real photos shipped in scikit-image and
foolbox, plus two unmodified real files), a golden `<name>.rgb` per image holding
numpy.asarray(transformers.image_utils.load_image(path)) as raw bytes ([height, width, 3], uint8), and
manifest.json listing every case: {file, width, height, rgb | sha256, transparent_color, pillow_transparency}
("sha256" of those raw bytes for the few large images) or {file, error} for inputs that must fail.
`pillow_transparency` is load_image(path).info.get("transparency") (an int, a list, or null) and
`transparent_color` the RGB colour transformers' convert_to_rgb turns white because of it (an int key t acts as
(t & 0xff, 0, 0), a tuple as each value & 0xff; checked on every image against convert_to_rgb itself).
Tests/Fixtures/images/transparency/ holds pixel_values of CLIPImageProcessorPil applied to load_image(path) for
a few images with and without a key (manifest "transparency_pixel_values").
Deterministic: no randomness; re-running rewrites identical files.

    python Tools/reference/image_fixtures.py
"""
import hashlib
import io
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image
from transformers import CLIPImageProcessorPil
from transformers.image_transforms import convert_to_rgb
from transformers.image_utils import load_image

SKIMAGE = Path(__import__("skimage").__file__).parent / "data"
FOOLBOX = Path(__import__("foolbox").__file__).parent / "data"
OUT = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "images"

cases = []


def src(name, box=None, size=None, base=SKIMAGE):
    im = Image.open(base / name)
    im.load()
    if box:
        im = im.crop(box)
    if size:
        im = im.resize(size, Image.Resampling.LANCZOS)
    return im


def transparency_key(im):
    """(Pillow's info["transparency"] as JSON, the RGB colour convert_to_rgb whitens) of a load_image result.
    The rule is checked against convert_to_rgb on the image itself; returns the number of whitened pixels."""
    t = im.info.get("transparency")
    if t is None:
        key = None
    elif isinstance(t, int):  # RGB -> RGBA with an integer key compares with (t & 0xff, 0, 0)
        key = [t & 0xFF, 0, 0]
    elif isinstance(t, tuple) and len(t) == 3:
        key = [v & 0xFF for v in t]
    else:
        raise AssertionError(f"unexpected transparency {t!r}")
    arr = np.asarray(im)
    expected = arr.copy()
    if key is not None:
        mask = (arr == np.array(key, np.uint8)).all(axis=2)
        expected[mask] = 255
    else:
        mask = np.zeros(arr.shape[:2], bool)
    assert np.array_equal(convert_to_rgb(im, return_numpy=True), expected), "convert_to_rgb differs from the rule"
    return (list(t) if isinstance(t, tuple) else t), key, int(mask.sum())


def save(name, data, note="", golden=None, whitened=None):
    """Writes an encoded fixture and its golden RGB (from load_image unless `golden` is given).
    `whitened`: when given, assert whether convert_to_rgb whitens some pixels (True) or none (False)."""
    path = OUT / name
    path.write_bytes(data)
    im = load_image(str(path))
    if golden is None:
        golden = np.asarray(im)
    assert golden.dtype == np.uint8 and golden.ndim == 3 and golden.shape[2] == 3
    pillow_t, key, count = transparency_key(im)
    if whitened is not None:
        assert (count > 0) == whitened, f"{name}: {count} pixels whitened"
    stem = name.rsplit(".", 1)[0]
    case = {"file": name, "width": int(golden.shape[1]), "height": int(golden.shape[0]), "note": note,
            "transparent_color": key, "pillow_transparency": pillow_t, "whitened_pixels": count}
    if golden.shape[0] * golden.shape[1] <= 40000:
        (OUT / f"{stem}.rgb").write_bytes(golden.tobytes())
        case["rgb"] = f"{stem}.rgb"
    else:  # large: SHA-256 of the RGB bytes (keeps the fixtures small; equality is still exact)
        case["sha256"] = hashlib.sha256(golden.tobytes()).hexdigest()
    cases.append(case)


def save_error(name, data, kind, note=""):
    """Writes an input that must fail; checks that load_image fails on it too (except the size limit)."""
    path = OUT / name
    path.write_bytes(data)
    try:
        load_image(str(path))
        pillow = "accepted"
    except Exception as e:  # noqa: BLE001 - record what Pillow says
        pillow = f"{type(e).__name__}: {e}".replace(str(OUT.parents[2]) + "/", "")  # repository-relative paths
    cases.append({"file": name, "error": kind, "note": note, "pillow": pillow[:200]})


def encode(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def exif_bytes(orientation):
    ex = Image.Exif()
    ex[0x0112] = orientation
    return ex.tobytes()


# --- PNG writer for what Pillow cannot write (16-bit RGB, Adam7 interlacing) ---
def png_chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_raw(arr, bit_depth, color_type, interlace=False, extra=b""):
    """arr: [h, w, c] (c samples per pixel, uint8 or uint16). Filter type 0 on every row."""
    h, w = arr.shape[:2]
    dt = ">u2" if bit_depth == 16 else "u1"

    def rows(a):
        return b"".join(b"\x00" + a[y].astype(dt).tobytes() for y in range(a.shape[0]))

    if not interlace:
        raw = rows(arr)
    else:
        raw = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                               (0, 1, 1, 2)]:
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += rows(sub)
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra + png_chunk(b"IDAT", zlib.compress(raw, 9))
            + png_chunk(b"IEND", b""))


def png_gray_bits(arr, depth, extra=b""):
    """Gray PNG of 1, 2 or 4 bits per sample from raw sample values `arr` [h, w]."""
    h, w = arr.shape
    per = 8 // depth
    raw = b""
    for y in range(h):
        row = np.zeros(-(-w // per), np.uint8)
        for x in range(w):
            row[x // per] |= int(arr[y, x]) << (8 - depth * (x % per + 1))
        raw += b"\x00" + row.tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, depth, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra + png_chunk(b"IDAT", zlib.compress(raw, 9))
            + png_chunk(b"IEND", b""))


def png_palette(idx, palette, trns=None, trns_after_idat=False):
    """8-bit palette PNG: indices [h, w], palette bytes (3 per entry), raw tRNS bytes before or after IDAT."""
    h, w = idx.shape
    raw = b"".join(b"\x00" + idx[y].astype(np.uint8).tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)
    head = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"PLTE", palette)
    t = png_chunk(b"tRNS", trns) if trns is not None else b""
    body = png_chunk(b"IDAT", zlib.compress(raw, 9))
    if trns_after_idat:
        return head + body + t + png_chunk(b"IEND", b"")
    return head + t + body + png_chunk(b"IEND", b"")


# --- GIF writer for layouts Pillow does not write (no colour table, local ramp over a global palette) ---
def gif_lzw(indices, min_code):
    """LZW data sub-blocks that only ever emit literal codes (a clear code before the table grows)."""
    clear, eoi = 1 << min_code, (1 << min_code) + 1
    size = min_code + 1
    codes, n = [clear], 0
    for i in indices:
        codes.append(int(i))
        n += 1
        if n >= (1 << size) - eoi - 2:
            codes.append(clear)
            n = 0
    codes.append(eoi)
    bits = nb = 0
    data = bytearray()
    for c in codes:
        bits |= c << nb
        nb += size
        while nb >= 8:
            data.append(bits & 255)
            bits >>= 8
            nb -= 8
    if nb:
        data.append(bits & 255)
    blocks = b"".join(bytes([len(data[i:i + 255])]) + bytes(data[i:i + 255]) for i in range(0, len(data), 255))
    return bytes([min_code]) + blocks + b"\x00"


def gif_raw(idx, gct=None, lct=None, transparency=None):
    """Single-frame GIF89a of indices [h, w] with optional global / local colour tables (bytes, 2^k entries)."""
    h, w = idx.shape

    def size_bits(p):
        return (len(p) // 3).bit_length() - 2

    out = b"GIF89a" + struct.pack("<HH", w, h)
    out += (bytes([0x80 | 0x70 | size_bits(gct), 0, 0]) + gct) if gct else bytes([0, 0, 0])
    if transparency is not None:
        out += b"\x21\xf9\x04" + bytes([1, 0, 0, transparency, 0])
    out += b"\x2c" + struct.pack("<HHHHB", 0, 0, w, h, (0x80 | size_bits(lct)) if lct else 0)
    if lct:
        out += lct
    return out + gif_lzw(idx.ravel(), 8) + b";"


# --- BMP writer for the variants Pillow does not write ---
def bmp(width, height, bits, rows_bytes, palette=None, top_down=False, compression=0, masks=None, header=40):
    """rows_bytes: list of unpadded rows, top row first."""
    stride = ((width * bits + 31) >> 3) & ~3
    body_rows = [r + b"\x00" * (stride - len(r)) for r in rows_bytes]
    if not top_down:
        body_rows = body_rows[::-1]
    pixels = b"".join(body_rows)
    pal = b"".join(bytes([b, g, r, 0]) for r, g, b in (palette or []))
    extra = b""
    if masks is not None:
        extra = b"".join(struct.pack("<I", m) for m in masks)
    info = struct.pack("<IiiHHIIiiII", header, width, -height if top_down else height, 1, bits, compression,
                       len(pixels), 2835, 2835, len(palette or []), 0)
    if header > 40:
        info += extra.ljust(header - 40, b"\x00")
        extra = b""
    offset = 14 + len(info) + len(extra) + len(pal)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + extra + pal + pixels


def gif_rebuild(gif_bytes, screen=None, offset=(0, 0), local_palette=False, transparency=None):
    """Re-assembles a single-frame GIF written by Pillow: optional larger logical screen, frame offset,
    palette moved to a local color table, graphics control extension with a transparency index."""
    d = gif_bytes
    flags = d[10]
    gct = 3 << ((flags & 7) + 1) if flags & 0x80 else 0
    palette = d[13:13 + gct]
    pos = 13 + gct
    while d[pos] == 0x21:  # skip extensions
        pos += 2
        while d[pos]:
            pos += d[pos] + 1
        pos += 1
    assert d[pos] == 0x2C
    _, _, fw, fh, iflags = struct.unpack("<HHHHB", d[pos + 1:pos + 10])
    lct = 3 << ((iflags & 7) + 1) if iflags & 0x80 else 0
    local = d[pos + 10:pos + 10 + lct]
    data = d[pos + 10 + lct:]
    pal = local or palette
    size_bits = (len(pal) // 3).bit_length() - 2
    sw, sh = screen or (fw, fh)
    out = d[:6] + struct.pack("<HH", sw, sh)
    if local_palette:
        out += bytes([0, 0, 0])
    else:
        out += bytes([0x80 | 0x70 | size_bits, 0, 0]) + pal
    if transparency is not None:
        out += b"\x21\xf9\x04" + bytes([1, 0, 0, transparency, 0])
    desc_flags = (iflags & 0x40) | ((0x80 | size_bits) if local_palette else 0)
    out += b"\x2c" + struct.pack("<HHHHB", offset[0], offset[1], fw, fh, desc_flags)
    if local_palette:
        out += pal
    return out + data


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for f in OUT.iterdir():
        if f.is_file():  # subfolders belong to other scripts, except ours
            f.unlink()
    if TRNS_DIR.exists():
        for f in TRNS_DIR.iterdir():
            f.unlink()

    astronaut = src("astronaut.png", (150, 40, 350, 200), (67, 45))
    chelsea = src("chelsea.png", (100, 20, 400, 245), (40, 30))
    coffee = src("coffee.png", (0, 0, 600, 400), (90, 60))
    camera = src("camera.png", (100, 50, 400, 250), (61, 41))
    rocket = src("rocket.jpg", (200, 0, 440, 160), (72, 48))

    # JPEG: chroma subsampling variants, progressive, grayscale, CMYK, EXIF orientations, real files.
    save("jpeg_420.jpg", encode(astronaut, "JPEG", quality=90, subsampling=2), "4:2:0")
    save("jpeg_422.jpg", encode(coffee, "JPEG", quality=85, subsampling=1), "4:2:2")
    save("jpeg_444.jpg", encode(rocket, "JPEG", quality=95, subsampling=0), "4:4:4")
    save("jpeg_420_odd.jpg", encode(src("coffee.png", (10, 10, 300, 210), (33, 17)), "JPEG", quality=75),
         "4:2:0, odd size (partial MCUs)")
    save("jpeg_progressive.jpg", encode(astronaut, "JPEG", quality=88, progressive=True), "progressive 4:2:0")
    save("jpeg_gray.jpg", encode(camera, "JPEG", quality=90), "grayscale")
    save("jpeg_cmyk.jpg", encode(coffee.convert("CMYK"), "JPEG", quality=92), "CMYK, Adobe inverted")
    save("jpeg_cmyk_444.jpg", encode(chelsea.convert("CMYK"), "JPEG", quality=80, subsampling=0), "CMYK 4:4:4")
    for o in range(1, 9):
        save(f"jpeg_orientation_{o}.jpg", encode(chelsea, "JPEG", quality=90, exif=exif_bytes(o)),
             f"EXIF orientation {o}")
    save("jpeg_real_imagenet.jpg", (FOOLBOX / "imagenet_02_438.jpg").read_bytes(), "unmodified real photo 512x512")
    save("jpeg_1x1.jpg", encode(astronaut.resize((1, 1)), "JPEG"), "1x1")
    save("jpeg_strip_1000x3.jpg", encode(src("astronaut.png", (0, 200, 512, 203), (1000, 3)), "JPEG"), "1000x3")
    save("jpeg_strip_3x1000.jpg", encode(src("astronaut.png", (200, 0, 203, 512), (3, 1000)), "JPEG"), "3x1000")
    # XMP orientation (no EXIF): Pillow's getexif falls back to tiff:Orientation.
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description tiff:Orientation="6"/>'
           b'</rdf:RDF></x:xmpmeta>')
    save("jpeg_xmp_orientation_6.jpg", encode(chelsea, "JPEG", quality=90, xmp=xmp), "XMP orientation 6")

    # PNG
    rgba = chelsea.convert("RGBA")
    alpha = Image.linear_gradient("L").resize(chelsea.size)
    rgba.putalpha(alpha)
    save("png_rgb.png", encode(astronaut, "PNG"), "RGB")
    save("png_rgba.png", encode(rgba, "PNG"), "RGBA with gradient alpha")
    save("png_gray.png", encode(camera, "PNG"), "grayscale")
    la = camera.convert("LA")
    la.putalpha(alpha.resize(camera.size))
    save("png_gray_alpha.png", encode(la, "PNG"), "gray + alpha")
    pal = coffee.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    save("png_palette.png", encode(pal, "PNG"), "palette, 64 colours")
    trns = chelsea.quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    save("png_palette_trns.png", encode(trns, "PNG", transparency=bytes(range(0, 256, 8))),
         "palette with tRNS alpha per entry")
    save("png_palette_4bit.png", encode(chelsea.quantize(colors=16, dither=Image.Dither.NONE), "PNG", bits=4),
         "4-bit palette")
    save("png_bilevel.png", encode(camera.convert("1"), "PNG"), "1-bit gray")
    save("png_gray_trns.png", encode(camera, "PNG", transparency=128), "gray with tRNS")
    arr16 = ((np.asarray(coffee).astype(np.uint32) * 257 + np.arange(90)[None, :, None] * 3) % 65536).astype(np.uint16)
    save("png_rgb16.png", png_raw(arr16, 16, 2), "16-bit RGB (Pillow keeps the high byte)")
    rgba16 = np.concatenate([arr16[:, :, :3], (arr16[:, :, :1] ^ 0x5A5A)], axis=2)
    save("png_rgba16.png", png_raw(rgba16, 16, 6), "16-bit RGBA")
    gray16 = np.asarray(camera).astype(np.uint16)[:, :, None] * 257
    save("png_gray16.png", png_raw(gray16, 16, 0), "16-bit gray: documented deviation, golden = high byte "
         "(Pillow clips I;16 to 255)", golden=np.repeat((gray16 >> 8).astype(np.uint8), 3, axis=2))
    save("png_interlaced.png", png_raw(np.asarray(astronaut), 8, 2, interlace=True), "Adam7 interlaced RGB")
    save("png_interlaced_rgba16.png", png_raw(rgba16[:13, :11], 16, 6, interlace=True), "Adam7 16-bit RGBA 11x13")
    for o in (3, 6, 8):
        save(f"png_orientation_{o}.png", encode(chelsea, "PNG", exif=exif_bytes(o)), f"eXIf orientation {o}")
    # eXIf after IDAT still counts (Pillow reads trailing chunks on load).
    body = encode(chelsea, "PNG")
    exif_chunk = png_chunk(b"eXIf", exif_bytes(5)[6:])
    save("png_orientation_5_after_idat.png", body[:-12] + exif_chunk + body[-12:], "eXIf after IDAT, orientation 5")
    save("png_1x1.png", encode(astronaut.resize((1, 1)), "PNG"), "1x1")
    save("png_strip_1000x3.png", encode(src("astronaut.png", (0, 200, 512, 203), (1000, 3)), "PNG"), "1000x3")
    save("png_strip_3x1000.png", encode(src("astronaut.png", (200, 0, 203, 512), (3, 1000)), "PNG"), "3x1000")

    # WebP
    save("webp_lossy.webp", encode(astronaut, "WEBP", quality=80), "lossy")
    save("webp_lossless.webp", encode(coffee, "WEBP", lossless=True), "lossless")
    save("webp_lossy_alpha.webp", encode(rgba, "WEBP", quality=70), "lossy + alpha")
    save("webp_lossless_alpha.webp", encode(rgba, "WEBP", lossless=True, exact=True), "lossless + alpha, exact")
    for o in (2, 6, 7):
        save(f"webp_orientation_{o}.webp", encode(chelsea, "WEBP", quality=85, exif=exif_bytes(o)),
             f"EXIF chunk orientation {o}")
    save("webp_odd.webp", encode(src("coffee.png", (10, 10, 300, 210), (33, 17)), "WEBP", quality=60), "odd size")

    # GIF
    gif_pal = coffee.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    plain = encode(gif_pal, "GIF", interlace=False)
    save("gif_basic.gif", plain, "global palette, not interlaced")
    save("gif_interlaced.gif", encode(gif_pal, "GIF", interlace=True), "interlaced")
    save("gif_local_palette.gif", gif_rebuild(plain, local_palette=True), "local color table only")
    small = chelsea.quantize(colors=16, dither=Image.Dither.NONE)
    small_gif = encode(small, "GIF", interlace=False)
    save("gif_offset_frame.gif", gif_rebuild(small_gif, screen=(52, 41), offset=(7, 5)),
         "frame smaller than canvas, no transparency (fill index 0)")
    save("gif_offset_frame_transparent.gif", gif_rebuild(small_gif, screen=(52, 41), offset=(3, 9), transparency=5),
         "frame smaller than canvas, transparency index 5 (canvas filled with it)")
    save("gif_frame_beyond_screen.gif", gif_rebuild(small_gif, screen=(30, 20), offset=(4, 2)),
         "frame extends past the logical screen (canvas grows)")
    save("gif_gray_ramp.gif", encode(camera, "GIF", interlace=False), "gray ramp palette (Pillow mode L)")
    save("gif_real_animated.gif", (SKIMAGE / "no_time_for_that_tiny.gif").read_bytes(),
         "unmodified real animated GIF, first frame")

    transparency_fixtures(chelsea, camera, coffee, astronaut, small, small_gif)

    # BMP
    save("bmp_24.bmp", encode(rocket, "BMP"), "24-bit bottom-up")
    save("bmp_8_palette.bmp", encode(coffee.quantize(colors=200, dither=Image.Dither.NONE), "BMP"),
         "8-bit palette")
    save("bmp_8_gray.bmp", encode(camera, "BMP"), "8-bit gray palette")
    save("bmp_1.bmp", encode(camera.convert("1"), "BMP"), "1-bit")
    p4 = chelsea.quantize(colors=16, dither=Image.Dither.NONE)
    idx = np.asarray(p4)
    pal4 = np.array(p4.getpalette()[:48]).reshape(16, 3)
    rows4 = []
    for y in range(idx.shape[0]):
        r = idx[y]
        r = np.append(r, 0) if len(r) % 2 else r
        rows4.append(bytes((r[0::2] << 4) | r[1::2]))
    save("bmp_4.bmp", bmp(40, 30, 4, rows4, [tuple(c) for c in pal4]), "4-bit palette (hand-written)")
    rows4_short = rows4
    save("bmp_4_short_palette.bmp", bmp(40, 30, 4, rows4_short, [tuple(c) for c in pal4[:9]]),
         "4-bit, 9-entry palette: indices past it are black")
    a = np.asarray(rocket)
    bgrx = [bytes(np.concatenate([a[y, :, ::-1], np.full((a.shape[1], 1), 77, np.uint8)], axis=1).ravel())
            for y in range(a.shape[0])]
    save("bmp_32.bmp", bmp(72, 48, 32, bgrx), "32-bit BGRX (hand-written)")
    save("bmp_32_topdown.bmp", bmp(72, 48, 32, bgrx, top_down=True), "32-bit top-down")
    bgr = [bytes(a[y, :, ::-1].ravel()) for y in range(a.shape[0])]
    save("bmp_24_topdown.bmp", bmp(72, 48, 24, bgr, top_down=True), "24-bit top-down, row padding")
    rgbx_masks = [0xFF, 0xFF00, 0xFF0000, 0xFF000000]
    rgba_rows = [bytes(np.concatenate([a[y], np.full((a.shape[1], 1), 200, np.uint8)], axis=1).ravel())
                 for y in range(a.shape[0])]
    save("bmp_32_bitfields.bmp", bmp(72, 48, 32, rgba_rows, compression=3, masks=rgbx_masks, header=56),
         "32-bit BITFIELDS RGBA masks (V3 header)")
    c = np.asarray(chelsea).astype(np.uint16)
    v555 = ((c[:, :, 0] >> 3) << 10) | ((c[:, :, 1] >> 3) << 5) | (c[:, :, 2] >> 3)
    save("bmp_16_555.bmp", bmp(40, 30, 16, [v555[y].astype("<u2").tobytes() for y in range(30)]), "16-bit 5-5-5")
    v565 = ((c[:, :, 0] >> 3) << 11) | ((c[:, :, 1] >> 2) << 5) | (c[:, :, 2] >> 3)
    save("bmp_16_565.bmp", bmp(40, 30, 16, [v565[y].astype("<u2").tobytes() for y in range(30)], compression=3,
                               masks=[0xF800, 0x7E0, 0x1F]), "16-bit 5-6-5 BITFIELDS")
    save("bmp_1x1.bmp", encode(astronaut.resize((1, 1)), "BMP"), "1x1")

    # Inputs that must fail.
    full_jpeg = encode(astronaut, "JPEG", quality=90)
    save_error("truncated.jpg", full_jpeg[: len(full_jpeg) // 2], "truncated", "JPEG cut in the middle of the scan")
    save_error("truncated_header.jpg", full_jpeg[:100], "truncated", "JPEG cut inside the header")
    prog = encode(astronaut, "JPEG", quality=90, progressive=True)
    save_error("truncated_progressive.jpg", prog[: len(prog) * 2 // 3], "truncated", "progressive JPEG cut")
    full_png = encode(astronaut, "PNG")
    save_error("truncated.png", full_png[: len(full_png) // 2], "truncated", "PNG cut in the IDAT data")
    save_error("truncated_header.png", full_png[:20], "truncated", "PNG cut inside IHDR")
    full_webp = encode(astronaut, "WEBP")
    save_error("truncated.webp", full_webp[: len(full_webp) // 2], "truncated", "WebP cut")
    save_error("truncated.gif", plain[: len(plain) // 2], "truncated", "GIF cut in the image data")
    full_bmp = encode(rocket, "BMP")
    save_error("truncated.bmp", full_bmp[: len(full_bmp) - 100], "truncated", "BMP missing its last rows")
    save_error("not_an_image.txt", b"This is a text file, not an image.\n", "notAnImage")
    save_error("empty.jpg", b"", "notAnImage", "empty file with an image extension")
    save_error("unsupported.tif", encode(chelsea, "TIFF"), "unsupportedFormat", "TIFF is not decoded")
    huge_png = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
                + png_chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + png_chunk(b"IEND", b""))
    save_error("too_large.png", huge_png, "tooLarge", "20000x20000 PNG header (400M pixels)")
    huge_gif = gif_rebuild(small_gif, screen=(65535, 65535))
    save_error("too_large.gif", huge_gif, "tooLarge", "65535x65535 GIF screen")
    huge_jpeg = bytearray(full_jpeg)
    sof = huge_jpeg.find(b"\xff\xc0")
    huge_jpeg[sof + 5:sof + 9] = struct.pack(">HH", 30000, 30000)
    save_error("too_large.jpg", bytes(huge_jpeg), "tooLarge", "30000x30000 JPEG header")
    save_error("too_large.bmp", bmp(20000, 20000, 24, []), "tooLarge", "20000x20000 BMP header, no data")
    save_error("corrupt.png", full_png[:33] + b"\x00" * 40 + full_png[73:], "corrupt", "PNG with IDAT garbage")
    save_error("png_gray_trns_short.png", png_raw(np.asarray(camera)[:8, :8, None], 8, 0, extra=png_chunk(b"tRNS", b"\x05")),
               "corrupt", "gray PNG with a 1-byte tRNS chunk (Pillow: Truncated tRNS chunk)")

    pv_cases = transparency_pixel_values()
    manifest = {"pillow": PIL.__version__, "cases": cases, "transparency_pixel_values": pv_cases}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"{len(cases)} cases, {total} bytes in {OUT}")
    for c in cases:
        if "error" in c:
            print(f"  {c['file']}: expect {c['error']}; Pillow: {c['pillow']}")


TRNS_DIR = OUT / "transparency"
# Small CLIP preprocessing (shortest edge 32, centre crop 32, OpenAI mean/std) for the pixel_values goldens.
TRNS_CONFIG = {
    "crop_size": {"height": 32, "width": 32}, "do_center_crop": True, "do_convert_rgb": True,
    "do_normalize": True, "do_rescale": True, "do_resize": True, "image_processor_type": "CLIPImageProcessor",
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    "resample": 3, "rescale_factor": 1 / 255, "size": {"shortest_edge": 32},
}
# (image, do_convert_rgb): images with a key, and without one (must be unchanged).
TRNS_PV = [
    ("gif_offset_frame_transparent.gif", True), ("gif_transparent_past_palette.gif", True),
    ("gif_transparent_local.gif", True), ("gif_ramp_local_global_palette.gif", True),
    ("gif_gray_ramp_transparent.gif", True), ("png_palette_simple_trns.png", True),
    ("png_palette_simple_trns.png", False), ("png_palette_trns_orientation_6.png", True),
    ("png_rgb_trns.png", True), ("png_gray2_trns.png", True), ("png_bilevel_trns_0.png", True),
    ("png_palette_trns.png", True), ("png_palette.png", True), ("gif_basic.gif", True),
]


def transparency_fixtures(chelsea, camera, coffee, astronaut, small, small_gif):
    """Images whose Pillow image keeps a single transparent colour through convert("RGB")."""
    # Palette PNG, "simple" tRNS (one 0x00 entry, others 0xff): key = the palette colour of that entry.
    pal = chelsea.quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    idx = np.asarray(pal)
    palette = bytes(pal.getpalette()[:48])
    common = int(np.bincount(idx.ravel()).argmax())
    simple = b"\xff" * common + b"\x00"
    save("png_palette_simple_trns.png", png_palette(idx, palette, simple), f"palette, tRNS: entry {common} transparent",
         whitened=True)
    save("png_palette_simple_trns_long.png", png_palette(idx, palette, simple + b"\xff" * 3),
         "simple tRNS with trailing 0xff entries", whitened=True)
    save("png_palette_simple_trns_newline.png", png_palette(idx, palette, simple + b"\xff\x0a"),
         "tRNS ending in 0x0a still counts as simple (Pillow's regex '$' before a final newline)", whitened=True)
    save("png_palette_two_zero_trns.png", png_palette(idx, palette, b"\x00" + simple), "two 0x00 entries: no key",
         whitened=False)
    save("png_palette_trns_after_idat.png", png_palette(idx, palette, simple, trns_after_idat=True),
         "simple tRNS after IDAT (Pillow reads it on load)", whitened=True)
    # Index past PLTE (tRNS longer than the palette, which libpng discards): key black; entry `common` is black.
    dark = bytearray(palette)
    dark[3 * common:3 * common + 3] = b"\x00\x00\x00"
    save("png_palette_trns_past_palette.png", png_palette(idx, bytes(dark), b"\xff" * 18 + b"\x00\xff"),
         "tRNS of 20 entries over a 16-entry palette, entry 18 transparent: key black", whitened=True)
    save("png_palette_trns_orientation_6.png", encode(pal, "PNG", transparency=common, exif=exif_bytes(6)),
         "simple tRNS + eXIf orientation 6", whitened=True)
    # Gray: raw tRNS value, unscaled for 2/4 bits; mode "1" keeps 0 or 255 (an integer: colour (t, 0, 0)).
    cam = np.asarray(camera)[:24, :32]
    save("png_gray2_trns.png", png_gray_bits(cam >> 6, 2, png_chunk(b"tRNS", struct.pack(">H", 0))),
         "2-bit gray, tRNS 0: key (0, 0, 0)", whitened=True)
    save("png_gray4_trns.png", png_gray_bits(cam >> 4, 4, png_chunk(b"tRNS", struct.pack(">H", 3))),
         "4-bit gray, tRNS 3: key (3, 3, 3), unscaled, so no pixel matches", whitened=False)
    save("png_bilevel_trns_0.png", png_gray_bits(cam >> 7, 1, png_chunk(b"tRNS", struct.pack(">H", 0))),
         "1-bit gray, tRNS 0: key 0 -> (0, 0, 0)", whitened=True)
    save("png_bilevel_trns_1.png", png_gray_bits(cam >> 7, 1, png_chunk(b"tRNS", struct.pack(">H", 1))),
         "1-bit gray, tRNS 1: Pillow keeps 255 -> (255, 0, 0)", whitened=False)
    save("png_gray_trns_300.png", png_raw(cam[:, :, None], 8, 0, extra=png_chunk(b"tRNS", struct.pack(">H", 300))),
         "8-bit gray, tRNS 300: clamped to 255", whitened=False)
    gray16 = cam.astype(np.uint16)[:, :, None] * 257
    gray16[0, :4] = 0
    save("png_gray16_trns.png", png_raw(gray16, 16, 0, extra=png_chunk(b"tRNS", struct.pack(">H", 0x0200))),
         "16-bit gray, tRNS 0x0200: Pillow keeps the integer -> (0, 0, 0); pixels: documented deviation",
         golden=np.repeat((gray16 >> 8).astype(np.uint8), 3, axis=2))
    # RGB: key kept as (r, g, b) and compared with each value & 0xff.
    rgb = np.asarray(astronaut)[:30, :40]
    r, g, b = (int(v) for v in rgb[5, 7])
    save("png_rgb_trns.png", png_raw(rgb, 8, 2, extra=png_chunk(b"tRNS", struct.pack(">HHH", r, g, b))),
         "8-bit RGB with a tRNS colour present in the image", whitened=True)
    rgb16 = rgb.astype(np.uint16) * 256 + 7
    save("png_rgb16_trns.png", png_raw(rgb16, 16, 2, extra=png_chunk(b"tRNS", struct.pack(">HHH", 0x1200 | r,
                                                                                         0x3400 | g, 0x5600 | b))),
         "16-bit RGB, tRNS low bytes equal a pixel's high bytes: Pillow compares the low bytes", whitened=True)
    # GIF: frame 0's transparency index.
    sidx = np.asarray(small)
    scommon = int(np.bincount(sidx.ravel()).argmax())
    save("gif_transparent_local.gif", gif_rebuild(small_gif, local_palette=True, transparency=scommon),
         "local colour table, transparency index", whitened=True)
    save("gif_transparent_past_palette.gif", gif_rebuild(small_gif, screen=(52, 41), offset=(3, 9), transparency=40),
         "transparency index 40 past the 16-entry palette: key black (the canvas around the frame)", whitened=True)
    ramp256 = bytes(v for i in range(256) for v in (i, i, i))
    cam_gif = gif_raw(np.asarray(camera), gct=ramp256, transparency=int(np.bincount(np.asarray(camera).ravel()).argmax()))
    assert Image.open(io.BytesIO(cam_gif)).mode == "L"
    save("gif_gray_ramp_transparent.gif", cam_gif, "256-entry gray-ramp palette (mode L), transparency index = gray level",
         whitened=True)
    gray_idx = np.asarray(camera)[:20, :30] // 8
    save("gif_no_palette_transparent.gif", gif_raw(gray_idx, transparency=int(gray_idx[3, 3])),
         "no colour table (mode L): gray level = index", whitened=True)
    ramp16 = bytes(v for i in range(16) for v in (i, i, i))
    spal = bytes(small.getpalette()[:48])
    save("gif_ramp_local_global_palette.gif", gif_raw(sidx, gct=spal, lct=ramp16, transparency=scommon),
         "local table is a gray ramp: Pillow uses the global palette", whitened=True)
    save("gif_ramp_local_global_palette_opaque.gif", gif_raw(sidx, gct=spal, lct=ramp16),
         "local gray-ramp table over a global palette, no transparency", whitened=False)


def transparency_pixel_values():
    """pixel_values of CLIPImageProcessorPil (TRNS_CONFIG) on load_image(path), float32 little-endian [3, 32, 32]."""
    TRNS_DIR.mkdir(exist_ok=True)
    out = []
    for convert in (True, False):
        sub = TRNS_DIR / ("convert" if convert else "no_convert")
        sub.mkdir(exist_ok=True)
        (sub / "preprocessor_config.json").write_text(json.dumps(dict(TRNS_CONFIG, do_convert_rgb=convert), indent=2)
                                                      + "\n")
    for name, convert in TRNS_PV:
        folder = "convert" if convert else "no_convert"
        processor = CLIPImageProcessorPil.from_pretrained(str(TRNS_DIR / folder))
        assert type(processor).__name__ == "CLIPImageProcessorPil"
        pv = np.asarray(processor(load_image(str(OUT / name)), return_tensors="np")["pixel_values"][0], np.float32)
        stem = name.rsplit(".", 1)[0]
        file = f"{folder}/{stem}.f32"
        (TRNS_DIR / file).write_bytes(pv.astype("<f4").tobytes())
        out.append({"image": name, "config": f"transparency/{folder}/preprocessor_config.json",
                    "pixel_values": f"transparency/{file}", "shape": list(pv.shape)})
    return out


if __name__ == "__main__":
    main()
