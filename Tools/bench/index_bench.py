"""Search, open and relabel speed of a zeroshot index against rclip's approach, on synthetic indexes.

For each size (100,000 and 1,000,000 rows by default) the script builds a synthetic index once (cached under
--cache-dir): `zeroshot index` indexes one photo with the checkpoint (schema, application_id, user_version and the
model's meta rows come from the product), then that row is deleted and the synthetic rows are written from Python into its `images` table (path,
size, mtime, sha256, width, height, embedding as float32 little-endian BLOB of random L2-normalised vectors, D = the
checkpoint's projection_dim, indexed_at), and `zeroshot search` is checked to accept it: its top 5 for a text query
must be numpy's top 5 over the same embeddings for that query's text embedding (`zeroshot embed --text`).

Then, in rounds, alternating (the order swaps every round):

  zeroshot   `zeroshot bench --db INDEX --queries K --format json`: index_open_ms (open the index, load every
             embedding into one contiguous [N, D] matrix), search_ms (median over K query embeddings: one matrix-
             vector product and a partial top-k, text tower excluded), relabel_ms (every stored embedding from the
             database file against 20 labels' text embeddings, scores as classify gives them; the text tower is
             timed on its own)
  rclip      rclip's approach in Python: `SELECT path, embedding ... WHERE path LIKE ?`, np.frombuffer per row and
             np.stack (rclip's RClip._get_features), timed as the load; then per query
             `(query @ features.T).squeeze(0).tolist()` and `sorted(...)` of every score, as rclip's
             Model.compute_similarities_to_text does (on min(K, --rclip-queries) queries; it is slow), and the numpy
             brute force one would write today: `features @ query`, np.argpartition top-k, np.argsort of those k;
             relabel: load + `features @ text.T` * logit scale, softmax per row, labels sorted per row

and prints a markdown table of medians with ratios (rclip / zeroshot) and the issue's targets: search <= 20 ms at
100,000 rows and <= 200 ms at 1,000,000; open <= 0.3 s at 100,000; relabel of 100,000 against 20 labels <= 1 s.

Usage:
  python Tools/bench/index_bench.py                                   # 100k and 1M rows, ViT-B/32's shape
  python Tools/bench/index_bench.py --sizes 100000 --rounds 7 --json index_bench.json
  python Tools/bench/index_bench.py --shape tiny --sizes 2000 --rounds 1   # checks the script itself
"""
import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (checkpoint building, process runner, machine info)

TARGETS = {  # rows -> {measurement: at most, in ms}
    100_000: {"search_ms": 20.0, "index_open_ms": 300.0, "relabel_ms": 1000.0},
    1_000_000: {"search_ms": 200.0},
}
LABELS = ["a cat", "a dog", "a rocket", "a cup of coffee", "an astronaut", "a red sports car",
          "a mountain landscape at sunset", "a bowl of fruit", "a city street at night", "a person reading a book",
          "a beach with palm trees", "a birthday cake", "a snowy forest", "a bicycle", "a plate of pasta",
          "a child playing football", "an old church", "a sailing boat", "a bird on a branch", "a laptop on a desk"]
SYNTHETIC_PREFIX = "/synthetic/photos/"
SEED = 0


def synthetic_path(i):
    return f"{SYNTHETIC_PREFIX}{i // 1000:04d}/{i:07d}.jpg"


def synthetic_embeddings(start, count, dim, seed=SEED):
    """Rows start..start+count of the synthetic matrix: standard normal float32, L2-normalised, reproducible per
    chunk of rows."""
    rng = np.random.default_rng([seed, start])
    x = rng.standard_normal((count, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def run(command, check=True):
    wall, rss, code, stdout, stderr = compare.run_process(command)
    if check and code != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed ({code}): {stderr.strip()[-2000:]}")
    return wall, rss, code, stdout, stderr


def column_value(column, i, embedding, now):
    """The value of one column of the synthetic row i (by the column's name; its declared type where the name
    alone does not say)."""
    name, kind = column["name"], (column["type"] or "").upper()
    if name == "path":
        return synthetic_path(i)
    if name == "embedding":
        return embedding.astype("<f4").tobytes()
    if name == "sha256":
        return hashlib.sha256(synthetic_path(i).encode()).hexdigest()
    if name == "size":
        return 500_000 + (i * 7919) % 4_000_000
    if name == "mtime":
        return 1.7e9 + i * 0.001
    if name == "width":
        return 4000 if i % 3 else 3000
    if name == "height":
        return 3000 if i % 3 else 4000
    if name == "indexed_at":
        return now if ("REAL" in kind or "INT" in kind or "NUM" in kind) else \
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    if column["notnull"] and column["dflt_value"] is None and not column["pk"]:
        raise RuntimeError(f"images.{name} ({kind}) is NOT NULL and this script does not know what to write in it")
    return None


def product_index(binary, checkpoint, work):
    """A new index made by `zeroshot index` of one photo (the index records its model with its first image)."""
    photos = work / "photo"
    photos.mkdir(exist_ok=True)
    shutil.copy(ROOT / "Examples" / "images" / "cat.jpg", photos / "cat.jpg")
    scratch = work / "index.db"
    run([binary, "index", "--db", scratch, "--model", checkpoint, "--format", "json", "--quiet", photos])
    return scratch


def layout(path):
    """What the product decides about a file: page size, application_id, user_version, the meta rows but
    created_at."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            pragmas = [connection.execute(f"PRAGMA {p}").fetchone()[0]
                       for p in ("page_size", "application_id", "user_version")]
            meta = sorted(r for r in connection.execute("SELECT key, value FROM meta") if r[0] != "created_at")
            return pragmas, meta
    except sqlite3.Error:
        return None


def build_index(binary, checkpoint, path, rows, dim):
    """An index of `rows` synthetic images for `checkpoint`, written to `path` (replaced)."""
    work = Path(tempfile.mkdtemp(prefix="zeroshot-index-bench-"))
    try:
        scratch = product_index(binary, checkpoint, work)
        connection = sqlite3.connect(scratch, isolation_level=None)
        connection.execute("DELETE FROM images")
        columns = [dict(zip(("cid", "name", "type", "notnull", "dflt_value", "pk"), c))
                   for c in connection.execute("PRAGMA table_info(images)")]
        names = [c["name"] for c in columns]
        if "path" not in names or "embedding" not in names:
            raise RuntimeError(f"{scratch}: the images table has no path or embedding column: {names}")
        insert = [c for c in columns if not (c["pk"] and "INT" in (c["type"] or "").upper())]  # rowid aliases
        sql = f"INSERT INTO images ({', '.join(c['name'] for c in insert)}) VALUES ({', '.join('?' * len(insert))})"
        now = time.time()
        chunk = 20_000
        started = time.monotonic()
        for start in range(0, rows, chunk):
            count = min(chunk, rows - start)
            matrix = synthetic_embeddings(start, count, dim)
            connection.execute("BEGIN")
            connection.executemany(sql, ([column_value(c, start + j, matrix[j], now) for c in insert]
                                         for j in range(count)))
            connection.execute("COMMIT")
            if start // chunk % 10 == 9:
                compare.log(f"  {start + count:,} of {rows:,} rows ({time.monotonic() - started:.0f} s)")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.move(str(scratch), path)
        for suffix in ("-wal", "-shm"):
            if Path(f"{scratch}{suffix}").exists():
                shutil.move(f"{scratch}{suffix}", f"{path}{suffix}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def index_rows(path):
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            return connection.execute("SELECT count(*) FROM images").fetchone()[0]
    except sqlite3.Error:
        return None


def check_search(binary, checkpoint, path, features, paths):
    """`zeroshot search` answers on the synthetic index, with numpy's top 5 for the same text embedding."""
    query = "a dog on a beach"
    _, _, _, out, _ = run([binary, "embed", "--model", checkpoint, "--text", query])
    embedding = np.asarray(json.loads(out)[0]["embedding"], dtype=np.float32)
    embedding /= np.linalg.norm(embedding)
    _, _, _, out, _ = run([binary, "search", "--db", path, "--top-k", "5", "--format", "json", query])
    answer = json.loads(out)
    scores = features @ embedding
    best = np.argsort(-scores)[:5]
    expected = [(paths[i], float(scores[i])) for i in best]
    got = [(r["path"], r["score"]) for r in answer]
    if [p for p, _ in got] != [p for p, _ in expected] or \
            any(abs(a - b) > 1e-4 for (_, a), (_, b) in zip(got, expected)):
        raise RuntimeError(f"zeroshot search on {path} disagrees with numpy:\n  zeroshot {got}\n  numpy    {expected}")
    return got


# rclip's approach ------------------------------------------------------------------------------------------------

def rclip_load(path):
    """rclip's RClip._get_features: every row's vector through np.frombuffer, then np.stack."""
    connection = sqlite3.connect(path)
    try:
        filepaths, features = [], []
        for filepath, vector in connection.execute(
                "SELECT path, embedding FROM images WHERE path LIKE ?", (SYNTHETIC_PREFIX + "%",)):
            filepaths.append(filepath)
            features.append(np.frombuffer(vector, np.float32))
        return filepaths, np.stack(features)
    finally:
        connection.close()


def rclip_search_sorted(features, query, top_k):
    """rclip's Model.compute_similarities_to_text: every score to a Python list, sorted."""
    similarities = (query[None, :] @ features.T).squeeze(0).tolist()
    ranked = sorted(zip(similarities, range(features.shape[0])), key=lambda x: x[0], reverse=True)
    return ranked[:top_k]


def numpy_search(features, query, top_k):
    """Brute force with a partial sort: features @ query, argpartition top-k, argsort of those."""
    scores = features @ query
    top = np.argpartition(-scores, top_k)[:top_k]
    return top[np.argsort(-scores[top])], scores


def numpy_relabel(features, text, logit_scale):
    """Scores of every image against every label as the pipeline gives them (softmax of logit_scale x cosine),
    labels sorted best first per image."""
    logits = (features @ text.T) * logit_scale
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    order = np.argsort(-logits, axis=1)
    return np.take_along_axis(logits, order, axis=1), order


def unit_vectors(count, dim, seed):
    x = np.random.default_rng(seed).standard_normal((count, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return (time.perf_counter() - start) * 1000, result


def measure_rclip(path, queries, rclip_queries, top_k, labels_count, dim, logit_scale):
    load_ms, (paths, features) = timed(rclip_load, path)
    sorted_ms = [timed(rclip_search_sorted, features, q, top_k)[0] for q in queries[:rclip_queries]]
    numpy_ms = [timed(numpy_search, features, q, top_k)[0] for q in queries]
    text = unit_vectors(labels_count, dim, SEED + 2)
    relabel_ms, _ = timed(lambda: numpy_relabel(rclip_load(path)[1], text, logit_scale))
    del features, paths
    return {"load_ms": load_ms, "search_sorted_ms": statistics.median(sorted_ms),
            "search_numpy_ms": statistics.median(numpy_ms), "relabel_ms": relabel_ms}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=compare.HelpFormatter)
    parser.add_argument("--checkpoint", help="model directory (default: a random-weight checkpoint of --shape)")
    parser.add_argument("--shape", choices=sorted(compare.SHAPES), default="b32")
    parser.add_argument("--cache-dir", default=str(HERE / ".bench-models"),
                        help="checkpoints as compare.py builds them; the indexes go to its index/ folder")
    parser.add_argument("--zeroshot", default=".build/release/zeroshot")
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated row counts")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=50, help="K query embeddings per round (medians)")
    parser.add_argument("--rclip-queries", type=int, default=5,
                        help="of those, how many go through rclip's full Python sort")
    parser.add_argument("--iterations", type=int, default=3,
                        help="opens and relabels per `zeroshot bench --db` call (medians)")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached synthetic indexes")
    parser.add_argument("--json", help="write raw samples and medians here")
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes: {args.sizes!r} is not a comma-separated list of row counts")
    if not sizes or min(sizes) <= args.top_k or args.rounds < 1 or args.queries < 1 or args.iterations < 1:
        parser.error("--sizes must be above --top-k; --rounds, --queries and --iterations at least 1")

    binary = compare.resolve_binary(args.zeroshot)
    if not Path(binary).exists():
        parser.error(f"{binary}: no such binary (swift build -c release)")
    checkpoint = compare.checkpoint_for(args.checkpoint, args.shape, args.cache_dir)
    config = json.loads((checkpoint / "config.json").read_text())
    dim = config.get("projection_dim") or config["vision_config"].get("projection_dim", 512)
    logit_scale = float(np.exp(config.get("logit_scale_init_value", 2.6592)))
    labels = LABELS[:20]

    folder = Path(args.cache_dir) / "index" / checkpoint.name
    folder.mkdir(parents=True, exist_ok=True)
    # A cached index is rebuilt when this binary would lay it out otherwise (page size, schema, model).
    with tempfile.TemporaryDirectory(prefix="zeroshot-index-bench-") as work:
        expected = layout(product_index(binary, checkpoint, Path(work)))
    indexes = {}
    for rows in sizes:
        path = folder / f"synthetic-{rows}.db"
        if args.rebuild or index_rows(path) != rows or layout(path) != expected:
            compare.log(f"building {path} ({rows:,} rows, D = {dim})")
            start = time.monotonic()
            build_index(binary, checkpoint, path, rows, dim)
            compare.log(f"  built in {time.monotonic() - start:.0f} s, {path.stat().st_size / 2**20:.0f} MiB")
        paths, features = rclip_load(path)
        got = check_search(binary, checkpoint, path, features, paths)
        compare.log(f"{path.name}: zeroshot search agrees with numpy (best {got[0][0]}, {got[0][1]:.4f})")
        del paths, features
        indexes[rows] = path

    queries = unit_vectors(args.queries, dim, SEED + 1)
    samples = {rows: {} for rows in sizes}

    def add(rows, key, value):
        samples[rows].setdefault(key, []).append(value)

    cpu = None
    for r in range(args.rounds):
        for rows in sizes:
            path = indexes[rows]
            load = compare.ForeignLoad().start()
            for engine in (("zeroshot", "rclip") if r % 2 == 0 else ("rclip", "zeroshot")):
                if engine == "zeroshot":
                    wall, rss, _, out, _ = run([binary, "bench", "--db", path, "--queries", str(args.queries),
                                                "--labels", ",".join(labels), "--iterations", str(args.iterations),
                                                "--format", "json"])
                    result = json.loads(out)
                    cpu = result.get("cpu", cpu)
                    for key in ("index_open_ms", "search_ms", "relabel_ms", "relabel_text_ms"):
                        if result.get(key) is not None:
                            add(rows, f"zeroshot_{key}", result[key])
                    add(rows, "zeroshot_peak_rss_mb", rss)
                else:
                    result = measure_rclip(path, queries, args.rclip_queries, args.top_k, len(labels), dim,
                                           logit_scale)
                    for key, value in result.items():
                        add(rows, f"rclip_{key}", value)
            add(rows, "foreign_load", load.stop())
            s = samples[rows]
            compare.log(f"round {r + 1}/{args.rounds}, {rows:,} rows: zeroshot open {s['zeroshot_index_open_ms'][-1]:.0f} "
                        f"search {s['zeroshot_search_ms'][-1]:.2f} relabel {s['zeroshot_relabel_ms'][-1]:.0f} ms; "
                        f"rclip load {s['rclip_load_ms'][-1]:.0f} search {s['rclip_search_sorted_ms'][-1]:.1f} "
                        f"(numpy {s['rclip_search_numpy_ms'][-1]:.2f}) relabel {s['rclip_relabel_ms'][-1]:.0f} ms; "
                        f"other processes {100 * (s['foreign_load'][-1] or 0):.0f}%")

    info = compare.machine_info(None)
    info["cpu"] = cpu or info["cpu"]
    medians = {rows: {k: compare.median(v) for k, v in s.items()} for rows, s in samples.items()}
    print(f"\nIndex search, open and relabel: synthetic indexes (D = {dim}, random L2-normalised float32), "
          f"{info['cpu']}, {info['cores']} cores; {info['date']}; medians of {args.rounds} rounds "
          f"({args.queries} queries each, top-{args.top_k}, {len(labels)} labels)\n")
    print("| rows | measurement | zeroshot ms | rclip's approach ms | rclip / zeroshot | target | |")
    print("|---:|---|---:|---:|---:|---:|---|")
    verdicts = []
    for rows in sizes:
        m = medians[rows]
        entries = [
            ("open: index -> contiguous matrix (rclip: SELECT + frombuffer + stack)", "index_open_ms", "rclip_load_ms"),
            ("search, one query embedding (rclip: full Python sort)", "search_ms", "rclip_search_sorted_ms"),
            ("search, one query embedding (numpy argpartition)", "search_ms", "rclip_search_numpy_ms"),
            (f"relabel against {len(labels)} labels, from the file", "relabel_ms", "rclip_relabel_ms"),
        ]
        for name, zs_key, py_key in entries:
            zs, py = m.get(f"zeroshot_{zs_key}"), m.get(py_key)
            target = TARGETS.get(rows, {}).get(zs_key)
            ok = None if target is None or zs is None else zs <= target
            if ok is not None and py_key != "rclip_search_numpy_ms":
                verdicts.append(f"{rows:,} rows {zs_key} {zs:.2f} ms (target <= {target:g} ms): "
                                f"{'PASS' if ok else 'FAIL'}")
            print(f"| {rows:,} | {name} | {compare.fmt(zs, 2)} | {compare.fmt(py, 2)} | "
                  f"{'n/a' if not zs or py is None else f'{py / zs:.1f}x'} | "
                  f"{'' if target is None else f'<= {target:g}'} | "
                  f"{'' if ok is None else ('PASS' if ok else 'FAIL')} |")
        if m.get("zeroshot_relabel_text_ms") is not None:
            print(f"| {rows:,} | text tower for the {len(labels)} labels (not in relabel) | "
                  f"{m['zeroshot_relabel_text_ms']:.1f} | | | | |")
    print("\n" + "\n".join(f"- {v}" for v in verdicts))
    loads = [compare.median(s["foreign_load"]) or 0 for s in samples.values()]
    print(f"- other processes took a median {100 * max(loads):.0f}% of the CPU during the rounds")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "dim": dim, "samples": samples,
                                               "medians": medians, "verdicts": verdicts}, indent=1))


if __name__ == "__main__":
    main()
