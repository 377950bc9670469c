"""Speed when the cores are shared: zeroshot and ONNX Runtime on a quiet machine and next to one busy process.

For one checkpoint (given with --checkpoint, or built with random weights for a named shape, as compare.py does),
each round measures, engines and conditions alternating:

  quiet / loaded   zeroshot's image tower (ms per image, batch 1 and 16) and text tower (ms per label), from
                   `zeroshot bench`, and ONNX Runtime's image tower (float32) at the same batch sizes and threads;
                   "loaded" is the same with one competing busy process (`sh -c 'while :; do :; done'`), which
                   this script starts before and stops after each loaded measurement
  two at once      the wall time of `zeroshot classify` on --classify-images copies of the image, run alone and
                   as two processes started together

and prints a markdown table of medians, the slowdowns (loaded / quiet), the targets and PASS/FAIL:
  zeroshot image slowdown <= 2.2x at each batch size, and <= 1.1x ONNX Runtime's slowdown
  zeroshot text slowdown <= 2.5x
  each of two zeroshot processes started together <= 2.3x the time of one alone

Every loop is bounded by --rounds; the busy process is killed when each loaded measurement ends, and at exit.

Usage:
  python Tools/bench/contention.py                               # ViT-B/32, built into Tools/bench/.bench-models/
  python Tools/bench/contention.py --rounds 5 --json contention.json
  python Tools/bench/contention.py --shape tiny --rounds 1       # checks the script itself
"""
import argparse
import atexit
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (checkpoint building, ONNX export, engines, process runner)
from bench_common import median  # noqa: E402

TARGETS = {"image": 2.2, "image_vs_ort": 1.1, "text": 2.5, "two": 2.3}


class BusyProcess:
    """One competing process that keeps a core busy until stopped."""

    def __init__(self):
        self.process = None
        atexit.register(self.stop)

    def __enter__(self):
        self.process = subprocess.Popen(["sh", "-c", "while :; do :; done"], start_new_session=True)
        time.sleep(0.2)  # let the scheduler place it
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


def ort_image_ms(engine, pixel_values, iterations):
    """Median ms per image over `iterations` calls, after one warm-up call."""
    engine.image(pixel_values)
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        engine.image(pixel_values)
        times.append((time.perf_counter() - start) * 1000 / len(pixel_values))
    return statistics.median(times)


def zeroshot_bench(args, binary, checkpoint, batch):
    command = [binary, "bench", "--model", str(checkpoint), "--batch", str(batch), "--iterations",
               str(args.iterations), "--threads", str(args.threads), "--labels", ",".join(compare.TEXT_LABELS),
               "--template", compare.TEXT_TEMPLATE, "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} exited {result.returncode}: {result.stderr.strip()[-300:]}")
    data = json.loads(result.stdout)
    return float(data["image_ms_per_image"]), float(data["text_ms_per_label"])


def classify_command(args, binary, checkpoint):
    return [binary, "classify", "--model", str(checkpoint), "--threads", str(args.threads), "--labels",
            ",".join(compare.CLASSIFY_LABELS), "--format", "jsonl"] + [str(args.image)] * args.classify_images


def run_together(commands):
    """Starts the commands at once; returns each one's wall seconds."""
    start = time.perf_counter()
    processes = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
                 for c in commands]
    walls = [None] * len(processes)
    pending = set(range(len(processes)))
    deadline = start + 1800
    while pending:
        for i in list(pending):
            if processes[i].poll() is not None:
                walls[i] = time.perf_counter() - start
                pending.discard(i)
                if processes[i].returncode != 0:
                    for p in processes:  # the others would run on, unwaited, in their own sessions
                        if p.poll() is None:
                            os.killpg(p.pid, signal.SIGKILL)
                            p.wait()
                    raise RuntimeError(f"{shlex.join(commands[i])} exited {processes[i].returncode}: "
                                       f"{processes[i].stderr.read().decode(errors='replace').strip()[-300:]}")
        if time.perf_counter() > deadline:
            for p in processes:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
            raise RuntimeError("classify runs took over 30 minutes")
        time.sleep(0.005)
    return walls


def parse_batches(text, parser):
    """--batches "1,16": distinct batch sizes that `zeroshot bench --batch` takes (1-1024), in order."""
    batches = []
    for part in text.split(","):
        try:
            batch = int(part)
        except ValueError:
            parser.error(f"--batches {text!r}: {part.strip()!r} is not a number (give sizes such as 1,16)")
        if not 1 <= batch <= 1024:
            parser.error(f"--batches {text!r}: {batch} is out of range (1-1024)")
        if batch not in batches:
            batches.append(batch)
    return batches


def verdict(value, target):
    if value is None:
        return "n/a"
    return "PASS" if value <= target else "FAIL"


def fmt(value, digits=1):
    return "n/a" if value is None else f"{value:.{digits}f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=compare.HelpFormatter)
    parser.add_argument("--checkpoint", help="a CLIP checkpoint directory (default: build --shape)")
    parser.add_argument("--shape", default="b32", choices=sorted(compare.SHAPES), help="random-weight shape")
    parser.add_argument("--zeroshot", default=".build/release/zeroshot", help="the zeroshot binary")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (each: every engine, both conditions)")
    parser.add_argument("--iterations", type=int, default=10, help="timed calls per measurement")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="threads per engine")
    parser.add_argument("--batches", default="1,16", help="image batch sizes")
    parser.add_argument("--image", default=str(compare.ROOT / "Examples" / "images" / "cat.jpg"),
                        help="image for the classify runs")
    parser.add_argument("--classify-images", type=int, default=32, help="copies of --image per classify run")
    parser.add_argument("--baseline", help="another zeroshot binary (e.g. an earlier build), measured the same way "
                        "in the same rounds, as the \"baseline\" rows")
    parser.add_argument("--skip-ort", action="store_true", help="zeroshot alone")
    parser.add_argument("--cache-dir", type=Path, default=HERE / ".bench-models",
                        help="where checkpoints and ONNX exports are built and kept (shared with compare.py)")
    parser.add_argument("--json", help="write raw samples and medians here")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 100 or not 1 <= args.iterations <= 1000 or not 1 <= args.classify_images <= 10000:
        parser.error("--rounds 1-100, --iterations 1-1000, --classify-images 1-10000")
    if args.threads < 1:
        parser.error(f"--threads {args.threads}: give at least 1")
    batches = parse_batches(args.batches, parser)
    args.zeroshot = compare.resolve_binary(args.zeroshot)
    if args.baseline:
        args.baseline = compare.resolve_binary(args.baseline)
    for option, binary in (("--zeroshot", args.zeroshot), ("--baseline", args.baseline)):
        if binary and not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            parser.error(f"{option} {binary}: no such executable (build it with swift build -c release)")
    if not Path(args.image).is_file():
        parser.error(f"--image {args.image}: no such file")
    if args.checkpoint and not all((Path(args.checkpoint) / f).is_file() for f in ("config.json", "model.safetensors")):
        parser.error(f"--checkpoint {args.checkpoint}: not a checkpoint directory (needs config.json and model.safetensors)")
    # The same checkpoints and exports as compare.py's.
    if args.checkpoint:
        checkpoint = Path(args.checkpoint)
        cache = args.cache_dir / "exports" / checkpoint.resolve().name
    else:
        checkpoint = compare.build_checkpoint(args.shape, args.cache_dir / f"clip-{args.shape}")
        cache = checkpoint / "onnx"
    ort = None
    notes = []
    if not args.skip_ort:
        fp32, _ = compare.export_onnx(checkpoint, cache, notes)
        ort = compare.OrtEngine(fp32, args.threads)
    rng = np.random.default_rng(0)
    pixels = {b: rng.standard_normal((b, 3, compare.IMAGE_SIZE, compare.IMAGE_SIZE), dtype=np.float32)
              for b in batches}
    busy = BusyProcess()
    samples = {}

    def record(key, value):
        samples.setdefault(key, []).append(value)

    for r in range(args.rounds):
        conditions = ["quiet", "loaded"] if r % 2 == 0 else ["loaded", "quiet"]
        for condition in conditions:
            for batch in batches:
                engines = ["zeroshot", "ort", "baseline"]
                engines = engines[(r + batch) % 3:] + engines[:(r + batch) % 3]
                for engine in engines:
                    if (engine == "ort" and ort is None) or (engine == "baseline" and not args.baseline):
                        continue
                    time.sleep(0.3)  # the previous engine's threads stop spinning
                    if condition == "loaded":
                        busy.__enter__()
                    try:
                        if engine != "ort":
                            binary = args.zeroshot if engine == "zeroshot" else args.baseline
                            image, text = zeroshot_bench(args, binary, checkpoint, batch)
                            record(f"{engine} image b{batch} {condition}", image)
                            if batch == batches[0]:
                                record(f"{engine} text {condition}", text)
                        else:
                            record(f"ort image b{batch} {condition}", ort_image_ms(ort, pixels[batch], args.iterations))
                    finally:
                        busy.stop()
                    compare.log(f"round {r + 1}/{args.rounds} {condition} b{batch} {engine}: "
                                + ", ".join(f"{k} {v[-1]:.2f}" for k, v in samples.items()
                                            if k.startswith(engine) and condition in k and f"b{batch}" in k))
        # Two classify processes started together, and one alone (order alternating).
        for engine in ["zeroshot", "baseline"] if args.baseline else ["zeroshot"]:
            command = classify_command(args, args.zeroshot if engine == "zeroshot" else args.baseline, checkpoint)
            prefix = "classify" if engine == "zeroshot" else "baseline classify"
            for mode in (["alone", "two"] if r % 2 == 0 else ["two", "alone"]):
                time.sleep(0.3)
                walls = run_together([command] if mode == "alone" else [command, command])
                for w in walls:
                    record(f"{prefix} {mode}", w)
                compare.log(f"round {r + 1}/{args.rounds} {prefix} {mode}: " + ", ".join(f"{w:.2f} s" for w in walls))

    med = {k: median(v) for k, v in samples.items()}

    def ratio(a, b):
        return med[a] / med[b] if med.get(a) and med.get(b) else None

    machine = compare.machine_info(args.threads)
    lines = [f"Machine: {machine['cpu']}, {machine['cores']} cores, {args.threads} threads per engine, "
             f"{machine['date']}; {args.rounds} rounds, medians; ONNX Runtime "
             f"{machine['versions'].get('onnxruntime')}.", "",
             "| measurement | quiet | one busy process | slowdown | target | verdict |", "|---|---:|---:|---:|---|---|"]
    verdicts = {}
    for batch in batches:
        zs = ratio(f"zeroshot image b{batch} loaded", f"zeroshot image b{batch} quiet")
        lines.append(f"| zeroshot image tower, batch {batch} (ms/image) | {fmt(med.get(f'zeroshot image b{batch} quiet'))} "
                     f"| {fmt(med.get(f'zeroshot image b{batch} loaded'))} | {fmt(zs, 2)}x | <= {TARGETS['image']}x "
                     f"| {verdict(zs, TARGETS['image'])} |")
        verdicts[f"image b{batch}"] = verdict(zs, TARGETS["image"])
        if ort is not None:
            o = ratio(f"ort image b{batch} loaded", f"ort image b{batch} quiet")
            rel = zs / o if zs and o else None
            lines.append(f"| ONNX Runtime, batch {batch} (ms/image) | {fmt(med.get(f'ort image b{batch} quiet'))} "
                         f"| {fmt(med.get(f'ort image b{batch} loaded'))} | {fmt(o, 2)}x | | |")
            lines.append(f"| zeroshot slowdown / ONNX Runtime slowdown, batch {batch} | | | {fmt(rel, 2)} "
                         f"| <= {TARGETS['image_vs_ort']} | {verdict(rel, TARGETS['image_vs_ort'])} |")
            verdicts[f"image b{batch} vs ort"] = verdict(rel, TARGETS["image_vs_ort"])
    t = ratio("zeroshot text loaded", "zeroshot text quiet")
    lines.append(f"| zeroshot text tower (ms/label) | {fmt(med.get('zeroshot text quiet'), 2)} "
                 f"| {fmt(med.get('zeroshot text loaded'), 2)} | {fmt(t, 2)}x | <= {TARGETS['text']}x "
                 f"| {verdict(t, TARGETS['text'])} |")
    verdicts["text"] = verdict(t, TARGETS["text"])
    two = ratio("classify two", "classify alone")
    worst_two = (max(samples.get("classify two", [0])) / med["classify alone"]) if med.get("classify alone") else None
    lines.append(f"| `classify` of {args.classify_images} images: alone / two started together (s, each) "
                 f"| {fmt(med.get('classify alone'), 2)} | {fmt(med.get('classify two'), 2)} | {fmt(two, 2)}x "
                 f"(slowest {fmt(worst_two, 2)}x) | <= {TARGETS['two']}x | {verdict(two, TARGETS['two'])} |")
    verdicts["two"] = verdict(two, TARGETS["two"])
    if args.baseline:
        for batch in batches:
            q, l = med.get(f"baseline image b{batch} quiet"), med.get(f"baseline image b{batch} loaded")
            lines.append(f"| baseline image tower, batch {batch} (ms/image) | {fmt(q)} | {fmt(l)} "
                         f"| {fmt(l / q if q and l else None, 2)}x | | |")
            zq = med.get(f"zeroshot image b{batch} quiet")
            lines.append(f"| zeroshot / baseline, quiet, batch {batch} | | | {fmt(zq / q if zq and q else None, 3)} | | |")
        q, l = med.get("baseline text quiet"), med.get("baseline text loaded")
        lines.append(f"| baseline text tower (ms/label) | {fmt(q, 2)} | {fmt(l, 2)} "
                     f"| {fmt(l / q if q and l else None, 2)}x | | |")
        a, b = med.get("baseline classify alone"), med.get("baseline classify two")
        lines.append(f"| baseline `classify`: alone / two together (s) | {fmt(a, 2)} | {fmt(b, 2)} "
                     f"| {fmt(b / a if a and b else None, 2)}x | | |")
    print("\n".join(lines + [""] + [f"- {n}" for n in notes]))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "args": vars(args), "samples": samples,
                                               "medians": med, "verdicts": verdicts}, indent=1))


if __name__ == "__main__":
    main()
