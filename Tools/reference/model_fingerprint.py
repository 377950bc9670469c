"""Model fingerprints as zeroshot's ModelIdentity computes them, from the documented recipe, with hashlib.

SHA-256 over config.json's bytes, then for each *.safetensors file in the directory, sorted by the UTF-8 bytes of its
name: the name (UTF-8) and a 0 byte, the size as a little-endian uint64, the first MiB and the last MiB (the whole
file twice when it is shorter). Symbolic links are followed.

Usage: python Tools/reference/model_fingerprint.py [DIR ...]
With no DIR: writes Tests/Fixtures/index/fingerprints.json for the fixture models that have a config.json.
"""
import hashlib
import json
import os
import struct
import sys

SPAN = 1 << 20


def fingerprint(directory):
    h = hashlib.sha256()
    with open(os.path.join(directory, "config.json"), "rb") as f:
        h.update(f.read())
    names = sorted((n for n in os.listdir(directory) if n.endswith(".safetensors")), key=lambda n: n.encode())
    for name in names:
        path = os.path.join(directory, name)
        size = os.path.getsize(path)
        h.update(name.encode() + b"\0")
        h.update(struct.pack("<Q", size))
        with open(path, "rb") as f:
            h.update(f.read(SPAN))
            f.seek(size - min(size, SPAN))
            h.update(f.read())
    return h.hexdigest()


def main():
    if len(sys.argv) > 1:
        for d in sys.argv[1:]:
            print(fingerprint(d), d)
        return
    root = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures")
    models = os.path.join(root, "models")
    result = {}
    for name in sorted(os.listdir(models)):
        d = os.path.join(models, name)
        if os.path.isfile(os.path.join(d, "config.json")):
            result[name] = fingerprint(d)
    with open(os.path.join(root, "index", "fingerprints.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
