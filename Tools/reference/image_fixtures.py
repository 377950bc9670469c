"""Image-decoding fixtures and their golden RGB bytes.

Writes Tests/Fixtures/images/: small encoded images (cut from the real photos shipped in scikit-image and
foolbox, plus two unmodified real files), a golden `<name>.rgb` per image holding
numpy.asarray(transformers.image_utils.load_image(path)) as raw bytes ([height, width, 3], uint8), and
manifest.json listing every case: {file, width, height, rgb | sha256} ("sha256" of those raw bytes for the
few large images) or {file, error} for inputs that must fail.
Deterministic: no randomness; re-running rewrites identical files.

    /work/venv/bin/python Tools/reference/image_fixtures.py
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


def save(name, data, note="", golden=None):
    """Writes an encoded fixture and its golden RGB (from load_image unless `golden` is given)."""
    path = OUT / name
    path.write_bytes(data)
    if golden is None:
        golden = np.asarray(load_image(str(path)))
    assert golden.dtype == np.uint8 and golden.ndim == 3 and golden.shape[2] == 3
    stem = name.rsplit(".", 1)[0]
    case = {"file": name, "width": int(golden.shape[1]), "height": int(golden.shape[0]), "note": note}
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
        pillow = f"{type(e).__name__}: {e}"
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

    manifest = {"pillow": PIL.__version__, "cases": cases}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"{len(cases)} cases, {total} bytes in {OUT}")
    for c in cases:
        if "error" in c:
            print(f"  {c['file']}: expect {c['error']}; Pillow: {c['pillow']}")


if __name__ == "__main__":
    main()
