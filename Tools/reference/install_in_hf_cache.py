"""Places a model directory into the Hugging Face cache layout, as huggingface_hub would after a download:

    $HF_HUB_CACHE/models--ORG--NAME/blobs/<sha256 of the file>
    $HF_HUB_CACHE/models--ORG--NAME/snapshots/<commit>/<file> -> ../../blobs/<sha256>
    $HF_HUB_CACHE/models--ORG--NAME/refs/main                  (the commit)

Used to put a locally built checkpoint (e.g. full_size_checkpoint.py's) where `zeroshot` and transformers look
for a Hub id, on machines that cannot reach the Hub.

Run: python Tools/reference/install_in_hf_cache.py MODEL_DIR ORG/NAME
"""
import hashlib
import os
import sys
from pathlib import Path


def cache_root():
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "huggingface" / "hub"


def install(model_dir, repo_id):
    repo = cache_root() / ("models--" + repo_id.replace("/", "--"))
    files = sorted(p for p in Path(model_dir).iterdir() if p.is_file())
    digest = hashlib.sha1()
    hashes = {}
    for path in files:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        hashes[path.name] = h.hexdigest()
        digest.update(f"{path.name}:{hashes[path.name]}\n".encode())
    commit = digest.hexdigest()
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    for path in files:
        blob = repo / "blobs" / hashes[path.name]
        if not blob.exists():
            os.link(path, blob) if os.stat(path).st_dev == os.stat(repo).st_dev else blob.write_bytes(path.read_bytes())
        link = snapshot / path.name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(Path("../../blobs") / hashes[path.name])
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    print(snapshot)


if __name__ == "__main__":
    install(sys.argv[1], sys.argv[2])
