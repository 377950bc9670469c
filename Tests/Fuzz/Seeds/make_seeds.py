#!/usr/bin/env python3
"""Writes the small seed inputs of the exif, safetensors and safetensors-index harnesses from the fixtures.

    python3 Tests/Fuzz/Seeds/make_seeds.py        (from the repository root; deterministic output)

safetensors seeds keep each fixture checkpoint's tensor names, dtypes and metadata with every dimension cut to 3 at
most (a few KB each); exif seeds are the EXIF, XMP and raw-profile blocks of the fixture images, as three files
joined by the harness's file separator."""
import glob
import json
import os
import random
import struct
import zlib

SEP = b"\n--zeroshot-fuzz-file--\n"
OUT = "Tests/Fuzz/Seeds"
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4,
         "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
rng = random.Random(14)


def header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def safetensors(entries, metadata=None, pad=0):
    """entries: [(name, dtype, shape)] -> file bytes, data laid out in order; pad spaces make the header length odd."""
    head, offset = {}, 0
    if metadata is not None:
        head["__metadata__"] = metadata
    blobs = []
    for name, dtype, shape in entries:
        count = 1
        for d in shape:
            count *= d
        size = count * SIZES.get(dtype, 1)
        head[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        blobs.append(bytes(rng.randrange(256) for _ in range(size)))
        offset += size
    text = json.dumps(head, separators=(",", ":")).encode() + b" " * pad
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def shrunk(head, limit):
    entries = [(k, v["dtype"], [min(d, 3) for d in v["shape"]]) for k, v in head.items() if k != "__metadata__"]
    entries.sort(key=lambda e: (e[0] != "logit_scale", e[0]))
    return entries[:limit], head.get("__metadata__")


def write(folder, name, data):
    os.makedirs(f"{OUT}/{folder}", exist_ok=True)
    with open(f"{OUT}/{folder}/{name}", "wb") as f:
        f.write(data)


def main():
    for path in sorted(glob.glob("Tests/Fixtures/models/*/model.safetensors")):
        model = path.split("/")[-2]
        entries, metadata = shrunk(header(path), 24)
        write("safetensors", f"{model}.safetensors", safetensors(entries, metadata))
    dtypes = [(f"t.{d.lower()}", d, [2, 3]) for d in SIZES] + [("t.unknown", "F4", [4]), ("t.scalar", "F32", []),
                                                              ("t.empty", "F32", [0, 5])]
    write("safetensors", "every_dtype.safetensors", safetensors(dtypes, {"format": "pt"}))
    write("safetensors", "unaligned_f32.safetensors", safetensors([("w", "F32", [3, 3])], pad=1))
    write("safetensors", "empty.safetensors", safetensors([]))

    for index_path in sorted(glob.glob("Tests/Fixtures/models/*/model.safetensors.index.json")):
        model = index_path.split("/")[-2]
        weight_map = json.load(open(index_path))["weight_map"]
        shards = sorted(set(weight_map.values()))
        files, kept = [], {}
        for shard in shards:
            entries, metadata = shrunk(header(os.path.join(os.path.dirname(index_path), shard)), 8)
            files.append(safetensors(entries, metadata))
            kept.update({name: shard for name, _, _ in entries})
        index = json.dumps({"metadata": {"total_size": sum(len(f) for f in files)}, "weight_map": kept}, indent=1)
        write("safetensors-index", f"{model}", SEP.join([index.encode()] + files))
        # A tensor mapped to a shard that does not hold it, and a shard name that is a path.
        broken = dict(kept)
        broken[next(iter(broken))] = shards[-1]
        write("safetensors-index", f"{model}-wrong-shard", SEP.join([json.dumps({"weight_map": broken}).encode()] + files))
        write("safetensors-index", f"{model}-path", SEP.join([json.dumps({"weight_map": {"w": "../x.safetensors"}}).encode()] + files))

    for path in sorted(glob.glob("Tests/Fixtures/images/*.jpg") + glob.glob("Tests/Fixtures/images/*.png")
                       + glob.glob("Tests/Fixtures/images/*.webp")):
        exif, xmp, raw = metadata_blocks(open(path, "rb").read())
        if exif or xmp or raw:
            write("exif", os.path.basename(path).rsplit(".", 1)[0], SEP.join([exif, xmp, raw]))
        if exif and path.endswith("orientation_6.jpg"):
            # The same EXIF as ImageMagick writes it into a PNG text chunk: "Raw profile type exif", a hex dump.
            hexdump = exif.hex()
            text = b"\nexif\n%8d\n" % len(exif) + "\n".join(hexdump[i:i + 72] for i in range(0, len(hexdump), 72)).encode()
            write("exif", "raw_profile_orientation_6", SEP.join([b"", b"", text + b"\n"]))


def metadata_blocks(data):
    exif = xmp = raw = b""
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 4 <= len(data) and data[i] == 0xFF and data[i + 1] not in (0xDA, 0xD9):
            n = struct.unpack(">H", data[i + 2:i + 4])[0]
            body = data[i + 4:i + 2 + n]
            if data[i + 1] == 0xE1 and body.startswith(b"Exif\0\0") and not exif:
                exif = body
            if data[i + 1] == 0xE1 and body.startswith(b"http://ns.adobe.com/xap/1.0/\0"):
                xmp = body[29:]
            i += 2 + n
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        i = 8
        while i + 8 <= len(data):
            n, kind = struct.unpack(">I4s", data[i:i + 8])
            body = data[i + 8:i + 8 + n]
            if kind == b"eXIf":
                exif = body
            elif kind in (b"tEXt", b"zTXt", b"iTXt") and body.startswith(b"Raw profile type exif\0"):
                rest = body[len(b"Raw profile type exif\0"):]
                raw = zlib.decompress(rest[1:]) if kind == b"zTXt" else rest
            elif kind == b"iTXt" and body.startswith(b"XML:com.adobe.xmp\0"):
                xmp = body.split(b"\0", 5)[-1] if body.count(b"\0") >= 4 else body
            i += 12 + n
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        i = 12
        while i + 8 <= len(data):
            kind, n = struct.unpack("<4sI", data[i:i + 8])
            if kind == b"EXIF":
                exif = data[i + 8:i + 8 + n]
            elif kind == b"XMP ":
                xmp = data[i + 8:i + 8 + n]
            i += 8 + n + (n & 1)
    return exif, xmp, raw


if __name__ == "__main__":
    main()
