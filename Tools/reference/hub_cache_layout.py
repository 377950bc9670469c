"""Golden Hugging Face cache layout for the Hub target's tests.

Builds two small fake model repos (fixed commit hashes, etags and contents), serves them on loopback the way the
Hub does (`/api/models/{repo}/revision/{rev}`, `HEAD`/`GET /{repo}/resolve/{rev}/{file}` with `X-Repo-Commit` and
`ETag`; LFS files answered with a 302 to a second "CDN" server carrying `X-Linked-Etag` and `X-Linked-Size`), lets
huggingface_hub's `hf_hub_download` fetch the files a CLIP checkpoint needs into an empty cache, and records the
resulting tree (every path, its kind, symlink targets, ref contents).

Writes Tests/Fixtures/hub/repos.json (the repos) and Tests/Fixtures/hub/layout.json (the tree huggingface_hub made).
Run: python Tools/reference/hub_cache_layout.py
"""

import base64
import json
import os
import random
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "hub"


def make_repos():
    rng = random.Random(1234)

    def blob(n):
        return bytes(rng.randrange(256) for _ in range(n))

    def hexid(n):
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))

    def text(obj):
        return (json.dumps(obj, indent=2) + "\n").encode()

    single = {
        "id": "acme/tiny-clip",
        "sha": hexid(40),
        "files": {
            "config.json": {"data": text({"model_type": "clip", "projection_dim": 8})},
            "model.safetensors": {"data": blob(40000), "lfs": True},
            "tokenizer.json": {"data": text({"version": "1.0", "model": {"type": "BPE"}})},
            "tokenizer_config.json": {"data": text({"model_max_length": 77})},
            "preprocessor_config.json": {"data": text({"crop_size": 224, "do_resize": True})},
            "vocab.json": {"data": text({"a</w>": 0})},
            "merges.txt": {"data": b"#version: 0.2\n"},
            "README.md": {"data": b"# tiny clip\n"},
        },
        # What a CLIP load fetches, in order.
        "download": ["config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json",
                     "tokenizer_config.json"],
    }
    shard_names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    index = {"metadata": {"total_size": 6000},
             "weight_map": {"text_model.a": shard_names[0], "vision_model.b": shard_names[1],
                            "logit_scale": shard_names[0]}}
    sharded = {
        "id": "acme/sharded-clip",
        "sha": hexid(40),
        "files": {
            "config.json": {"data": text({"model_type": "clip"})},
            "model.safetensors.index.json": {"data": text(index)},
            shard_names[0]: {"data": blob(3000), "lfs": True},
            shard_names[1]: {"data": blob(3000), "lfs": True},
            "vocab.json": {"data": text({"a</w>": 0, "b</w>": 1})},
            "merges.txt": {"data": b"#version: 0.2\na b\n"},
            "special_tokens_map.json": {"data": text({"bos_token": "<|startoftext|>"})},
            "preprocessor_config.json": {"data": text({"crop_size": 224})},
        },
        "download": ["config.json", "model.safetensors.index.json", shard_names[0], shard_names[1], "vocab.json",
                     "merges.txt", "preprocessor_config.json", "special_tokens_map.json"],
    }
    repos = [single, sharded]
    for repo in repos:
        for name, f in repo["files"].items():
            f["lfs"] = f.get("lfs", False)
            f["etag"] = hexid(64) if f["lfs"] else hexid(40)
            # The git pointer's sha1, sent as ETag beside X-Linked-Etag for LFS files, as the Hub does.
            f["pointer_etag"] = hexid(40)
    return repos


def serve(repos):
    by_id = {r["id"]: r for r in repos}
    servers = {}

    class CDN(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            etag = self.path.rsplit("/", 1)[-1]
            for r in repos:
                for f in r["files"].values():
                    if f["etag"] == etag:
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(f["data"])))
                        self.send_header("ETag", '"%s"' % etag)
                        self.end_headers()
                        self.wfile.write(f["data"])
                        return
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    class Hub(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _empty(self, status, headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _route(self, head):
            path = self.path.split("?")[0]
            if path.startswith("/api/models/"):
                rest = path[len("/api/models/"):]
                repo_id, _, rev = rest.partition("/revision/")
                repo = by_id.get(repo_id)
                if repo is None:
                    return self._empty(404, [("X-Error-Code", "RepoNotFound")])
                body = json.dumps({"id": repo_id, "sha": repo["sha"],
                                   "siblings": [{"rfilename": n} for n in repo["files"]]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)
                return
            parts = path.lstrip("/").split("/")
            repo_id = "/".join(parts[:2])
            repo = by_id.get(repo_id)
            if repo is None or len(parts) < 5 or parts[2] != "resolve":
                return self._empty(404, [("X-Error-Code", "RepoNotFound")])
            name = "/".join(parts[4:])
            f = repo["files"].get(name)
            commit = [("X-Repo-Commit", repo["sha"])]
            if f is None:
                return self._empty(404, [("X-Error-Code", "EntryNotFound")] + commit)
            if f["lfs"]:
                cdn = servers["cdn"]
                loc = "http://127.0.0.1:%d/blobs/%s" % (cdn.server_address[1], f["etag"])
                return self._empty(302, commit + [("Location", loc), ("ETag", '"%s"' % f["pointer_etag"]),
                                                  ("X-Linked-Etag", '"%s"' % f["etag"]),
                                                  ("X-Linked-Size", str(len(f["data"])))])
            self.send_response(200)
            for k, v in commit + [("ETag", '"%s"' % f["etag"])]:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(f["data"])))
            self.end_headers()
            if not head:
                self.wfile.write(f["data"])

        def do_HEAD(self):
            self._route(True)

        def do_GET(self):
            self._route(False)

    for name, handler in (("cdn", CDN), ("hub", Hub)):
        s = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=s.serve_forever, daemon=True).start()
        servers[name] = s
    return servers


def tree(root):
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                entries.append({"path": rel, "kind": "symlink", "target": os.readlink(p)})
            elif os.path.isdir(p):
                entries.append({"path": rel, "kind": "dir"})
            else:
                entry = {"path": rel, "kind": "file", "size": os.path.getsize(p)}
                if "/refs/" in "/" + rel or rel.endswith("CACHEDIR.TAG"):
                    entry["text"] = Path(p).read_text()
                entries.append(entry)
    return sorted(entries, key=lambda e: e["path"])


def main():
    repos = make_repos()
    servers = serve(repos)
    cache = tempfile.mkdtemp(prefix="hubcache-")
    os.environ.update({"HF_HUB_CACHE": cache, "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_XET": "1",
                       "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
                       "HF_ENDPOINT": "http://127.0.0.1:%d" % servers["hub"].server_address[1]})
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "HF_TOKEN"):
        os.environ.pop(k, None)
    from huggingface_hub import hf_hub_download  # after the environment is set
    import huggingface_hub

    for repo in repos:
        for name in repo["download"]:
            hf_hub_download(repo["id"], name, revision="main", cache_dir=cache)
    layout = tree(cache)
    for s in servers.values():
        s.shutdown()

    serial = [{"id": r["id"], "sha": r["sha"], "download": r["download"],
               "files": {n: {"etag": f["etag"], "pointer_etag": f["pointer_etag"], "lfs": f["lfs"],
                             "base64": base64.b64encode(f["data"]).decode()}
                         for n, f in r["files"].items()}}
              for r in repos]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "repos.json").write_text(json.dumps(serial, indent=1, sort_keys=True) + "\n")
    (OUT / "layout.json").write_text(json.dumps({"huggingface_hub": huggingface_hub.__version__,
                                                 "entries": layout}, indent=1) + "\n")
    print("wrote", OUT, len(layout), "entries", file=sys.stderr)


if __name__ == "__main__":
    main()
