"""BMP fixtures for Pillow's RLE8/RLE4 decoder and its palette modes, with their golden RGB bytes.

Writes Tests/Fixtures/images/bmp_rle/: small BMP files (RLE8 and RLE4 streams encoded here from real photos
of scikit-image, plus hand-written streams for every escape: end of line, end of bitmap, delta, absolute
runs with their even-offset padding, runs longer than the row, absolute runs crossing rows, trailing bytes,
top-down rows; palettes that Pillow reads as bilevel or grayscale, compressed and uncompressed), a golden
`<name>.rgb` per image holding numpy.asarray(transformers.image_utils.load_image(path)) ([height, width, 3]
uint8), and manifest.json listing {file, width, height, rgb} or {file, error} for inputs Pillow rejects.
Deterministic: re-running rewrites identical files.

    python Tools/reference/bmp_rle_fixtures.py
"""
import json
import struct
from pathlib import Path

import numpy as np
import PIL
from PIL import Image
from transformers.image_utils import load_image

SKIMAGE = Path(__import__("skimage").__file__).parent / "data"
OUT = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "images" / "bmp_rle"
RLE8, RLE4 = 1, 2
cases = []


def bmp(width, height, bits, compression, pixels, palette, colors=None):
    """palette: list of (r, g, b); `pixels` is written as is after the palette."""
    pal = b"".join(bytes([b, g, r, 0]) for r, g, b in palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, compression, len(pixels), 2835, 2835,
                       len(palette) if colors is None else colors, 0)
    offset = 14 + len(info) + len(pal)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + pal + pixels


def save(name, data, note):
    path = OUT / name
    path.write_bytes(data)
    try:
        golden = np.asarray(load_image(str(path)))
    except Exception as error:  # Pillow rejects it: the Swift decoder must fail too
        cases.append({"file": name, "error": f"{type(error).__name__}: {error}", "note": note})
        return
    stem = name.rsplit(".", 1)[0]
    (OUT / f"{stem}.rgb").write_bytes(golden.tobytes())
    cases.append({"file": name, "width": int(golden.shape[1]), "height": int(golden.shape[0]),
                  "rgb": f"{stem}.rgb", "note": note})


def encode_rle(indices, four_bit):
    """A plain RLE encoder (bottom-up rows): encoded runs for repeats, absolute runs otherwise, EOL per row, EOB."""
    out = bytearray()
    for row in indices[::-1]:
        row = list(row)
        i = 0
        while i < len(row):
            j = i
            if four_bit:  # runs of a repeating pair of nibbles
                while j + 2 < len(row) + 1 and j - i < 254 and j + 1 <= len(row) - 1 and row[j + 1] == row[i + (j + 1 - i) % 2] and (j + 1 - i) < 255:
                    j += 1
                run = j - i + 1
            else:
                while j + 1 < len(row) and row[j + 1] == row[i] and j - i < 254:
                    j += 1
                run = j - i + 1
            if run >= 3 or len(row) - i < 3:
                run = min(run, len(row) - i)
                if four_bit:
                    second = row[i + 1] if run > 1 else 0
                    out += bytes([run, (row[i] << 4) | second])
                else:
                    out += bytes([run, row[i]])
                i += run
            else:
                k = min(len(row) - i, 40)
                chunk = row[i:i + k]
                if four_bit:
                    packed = bytes((chunk[n] << 4) | (chunk[n + 1] if n + 1 < k else 0) for n in range(0, k, 2))
                else:
                    packed = bytes(chunk)
                out += bytes([0, k]) + packed
                if len(packed) % 2:
                    out += b"\x00"
                i += k
        out += b"\x00\x00"
    return bytes(out + b"\x00\x01")


def palette_of(im):
    flat = im.getpalette()[: 3 * 256]
    return [tuple(flat[i:i + 3]) for i in range(0, len(flat), 3)]


def photo_cases():
    coffee = Image.open(SKIMAGE / "coffee.png").convert("RGB").resize((61, 41), Image.Resampling.LANCZOS)
    q8 = coffee.quantize(colors=180, dither=Image.Dither.NONE)
    pal8 = palette_of(q8)[:180]
    idx8 = np.asarray(q8)
    save("rle8_photo.bmp", bmp(61, 41, 8, RLE8, encode_rle(idx8, False), pal8), "RLE8, coffee photo, 180 colors")
    save("rle8_photo_topdown.bmp",
         bmp(61, -41, 8, RLE8, encode_rle(idx8[::-1], False), pal8), "RLE8, top-down rows")
    rocket = Image.open(SKIMAGE / "rocket.jpg").convert("RGB").resize((47, 35), Image.Resampling.LANCZOS)
    q4 = rocket.quantize(colors=16, dither=Image.Dither.NONE)
    pal4 = palette_of(q4)[:16]
    idx4 = np.asarray(q4)
    save("rle4_photo.bmp", bmp(47, 35, 4, RLE4, encode_rle(idx4, True), pal4), "RLE4, rocket photo, 16 colors")


def hand_cases():
    pal = [((i * 37) % 256, (i * 91) % 256, (i * 53) % 256) for i in range(256)]
    pal16 = pal[:16]
    gray16 = [(i, i, i) for i in range(16)]
    gray256 = [(i, i, i) for i in range(256)]
    bw = [(0, 0, 0), (255, 255, 255)]
    full8 = bytes([2, 5, 2, 7, 0, 0, 0, 4, 1, 2, 3, 4, 0, 0, 0, 1])
    save("rle8_escapes.bmp", bmp(4, 2, 8, RLE8, full8, pal), "RLE8 encoded and absolute runs, EOL, EOB")
    save("rle8_delta.bmp", bmp(5, 4, 8, RLE8, bytes([1, 9, 0, 2, 2, 1, 1, 8, 0, 0, 0, 3, 4, 5, 6, 0, 0, 2, 0, 1, 0, 0, 0, 1]), pal),
         "RLE8 delta (right, up), skipped pixels are index 0")
    save("rle8_long_run.bmp", bmp(4, 2, 8, RLE8, bytes([9, 3, 2, 4, 0, 0, 5, 6, 0, 1]), pal),
         "RLE8 encoded run longer than the row is cut at the row end")
    save("rle8_absolute_cross.bmp", bmp(3, 3, 8, RLE8, bytes([0, 5, 1, 2, 3, 4, 5, 0, 2, 7, 0, 0, 3, 8, 0, 1]), pal),
         "RLE8 absolute run crossing into the next row, odd length padded")
    save("rle8_no_eob.bmp", bmp(3, 2, 8, RLE8, bytes([3, 1, 0, 0, 3, 2]), pal), "RLE8 without EOB: stops when full")
    save("rle8_trailing.bmp", bmp(3, 2, 8, RLE8, bytes([3, 1, 0, 0, 3, 2, 0, 1]) + b"trailing bytes", pal),
         "RLE8 followed by unrelated bytes")
    save("rle8_no_eol.bmp", bmp(3, 2, 8, RLE8, bytes([3, 1, 3, 2, 0, 1]), pal),
         "RLE8 second run without EOL: the column is not reset, the run is cut to nothing")
    save("rle8_truncated.bmp", bmp(4, 3, 8, RLE8, bytes([4, 1, 0, 0, 2, 5]), pal), "RLE8 data ends before the image")
    save("rle8_early_eob.bmp", bmp(4, 3, 8, RLE8, bytes([4, 1, 0, 0, 0, 1]), pal), "RLE8 EOB before the image is full")
    save("rle8_cut_absolute.bmp", bmp(4, 2, 8, RLE8, bytes([4, 1, 0, 4, 1, 2]), pal), "RLE8 absolute run cut by EOF")
    save("rle8_index_past_palette.bmp", bmp(4, 1, 8, RLE8, bytes([2, 3, 2, 200, 0, 1]), pal[:10]),
         "RLE8 indices past a 10-entry palette")
    save("rle8_gray.bmp", bmp(4, 2, 8, RLE8, full8, gray256), "RLE8 with a gray-ramp palette (mode L)")
    save("rle8_gray_short.bmp", bmp(4, 2, 8, RLE8, bytes([2, 3, 2, 200, 0, 0, 4, 15, 0, 1]), gray16),
         "RLE8 with a 16-entry gray ramp, indices past it (mode L keeps them)")
    save("rle8_bilevel.bmp", bmp(4, 2, 8, RLE8, bytes([2, 0, 2, 1, 0, 0, 1, 0, 1, 7, 2, 0, 0, 1]), bw),
         "RLE8 with a black/white palette (mode 1)")
    save("rle4_escapes.bmp",
         bmp(5, 2, 4, RLE4, bytes([5, 0x12, 0, 0, 0, 5, 0x34, 0x56, 0x70, 0, 0, 1]), pal16),
         "RLE4 encoded run alternating nibbles, absolute run of odd length")
    save("rle4_delta.bmp", bmp(6, 3, 4, RLE4, bytes([2, 0xAB, 0, 2, 3, 1, 3, 0xCD, 0, 3, 0xEF, 0x10, 0, 0, 0, 1]), pal16),
         "RLE4 delta and absolute run crossing rows")
    save("rle4_bits8.bmp", bmp(4, 2, 8, RLE4, full8, pal), "RLE4 compression declared on an 8-bit image")
    save("rle8_bits4.bmp", bmp(4, 2, 4, RLE8, bytes([2, 5, 2, 7, 0, 0, 0, 4, 1, 2, 3, 20, 0, 0, 0, 1]), pal16),
         "RLE8 compression declared on a 4-bit image")
    save("rle8_bits24.bmp", bmp(4, 2, 24, RLE8, full8, []), "RLE8 on a 24-bit image: Pillow has no raw mode")
    # Uncompressed palette images that Pillow reads as bilevel or grayscale whatever their depth.
    save("raw8_bilevel.bmp", bmp(4, 2, 8, 0, bytes([0, 1, 0xFF, 0x80, 0xC0, 0, 0, 1]), bw),
         "8-bit data with a black/white palette: Pillow reads 1 bit per pixel")
    save("raw4_bilevel.bmp", bmp(8, 2, 4, 0, bytes([0x01, 0x10, 0xFF, 0x00, 0x80, 0x33, 0, 0]), bw),
         "4-bit data with a black/white palette: Pillow reads 1 bit per pixel")
    save("raw1_one_black.bmp", bmp(8, 1, 1, 0, bytes([0xA5, 0, 0, 0]), [(0, 0, 0)]),
         "1-bit data with a single black entry: set bits are white")
    save("raw8_gray_short.bmp", bmp(4, 2, 8, 0, bytes([1, 200, 15, 16, 3, 4, 5, 6]), gray16),
         "8-bit data with a 16-entry gray ramp: indices past it are gray levels")
    save("raw1_gray3.bmp", bmp(4, 1, 1, 0, bytes([0x80, 2, 3, 9]), gray16[:3]),
         "1-bit data with a 3-entry gray ramp: Pillow reads bytes")
    save("raw4_gray16.bmp", bmp(6, 2, 4, 0, bytes([0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0]), gray16),
         "4-bit data with a gray ramp, rows shorter than one byte per pixel: Pillow rejects it")
    save("raw4_gray16_mapped.bmp", bmp(6, 2, 4, 0, bytes(range(0, 240, 20)), gray16),
         "4-bit data with a gray ramp, file long enough for Pillow's mapping: rows of 6 bytes")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    photo_cases()
    hand_cases()
    manifest = {"pillow": PIL.__version__, "cases": cases}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(cases)} cases in {OUT}")


if __name__ == "__main__":
    main()
