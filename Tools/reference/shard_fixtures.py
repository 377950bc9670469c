"""Golden SHA-256 digests and --shard buckets for Tests/Fixtures/inputs/shards.json.

A key belongs to share K of N when int.from_bytes(sha256(key.encode("utf-8")).digest()[:8], "big") % N == K;
this is the rule zeroshot's Shard documents, computed here with Python's hashlib.
"""
import hashlib
import json
import os

KEYS = ["a/b.jpg", "IMG_0001.JPG", "https://example.com/cat.jpg", "ünïcode/ß.png", "", "2024/07/beach (1).jpeg",
        "x" * 1000, "日本/写真.webp"]
KEYS += [f"photos/{i:04d}.jpg" for i in range(64)]
NS = [1, 2, 3, 7, 10, 1000]

cases = []
for key in KEYS:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    value = int.from_bytes(digest[:8], "big")
    cases.append({"key": key, "sha256": digest.hex(), "buckets": {str(n): value % n for n in NS}})

out = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "inputs", "shards.json")
with open(out, "w", encoding="utf-8") as f:
    json.dump({"cases": cases}, f, ensure_ascii=False, indent=1)
    f.write("\n")
print(f"{len(cases)} keys -> {os.path.normpath(out)}")
