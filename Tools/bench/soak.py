#!/usr/bin/env python3
"""Soak test: one zeroshot process classifies the same 1,000 images for a given time; its resident memory must stay
flat (issue 14: within ±5% of its value after warm-up).

The 1,000 images are made once from the fixture photos (`Tests/Fixtures/pipeline/images`, `Examples/images`) with
Debian's `ffmpeg` command: sizes from 24 to 1,600 pixels a side, aspect ratios from 1:3 to 3:1, some flipped or
cropped, in JPEG, PNG, WebP, GIF and BMP by turns; they are cached in `Tools/bench/.soak-images` (git-ignored) and
made again only when missing. Then one process runs:

- by default, `zeroshot classify --files-from LIST` with the 1,000 paths repeated enough times to last the
  duration (the rate measured on a first short pass, with a margin; the process is stopped with SIGTERM once the
  time is up, so a faster machine does not end early);
- with `--server`, `zeroshot serve --port 0`, fed by one keep-alive connection sending the images in turn as
  `POST /v1/zero-shot-image-classification` (JSON, base64), every answer checked.

Every second the script reads, from /proc/PID, VmRSS (`status`), the number of open file descriptors (`fd/`) and
the number of mappings (lines of `maps`). It reports RSS after warm-up (the first sample at or after
`--warmup` seconds, default 60), its maximum and final values, the drift ((max - after warm-up) and (final - after
warm-up), in % of RSS after warm-up, the larger in magnitude), the same for fds and mappings, and PASS/FAIL against
`--tolerance` (default 5%). The exit status is 1 on FAIL (or when the process died), 0 on PASS.

    python Tools/bench/soak.py --zeroshot .build/release/zeroshot --threads 1                 # 10 minutes, CLI
    python Tools/bench/soak.py --server --threads 1 --model Tools/bench/.bench-models/clip-b32
    python Tools/bench/soak.py --duration 90 --warmup 20 --json soak.json                      # a quick check
"""

import argparse
import base64
import concurrent.futures
import datetime
import http.client
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import cpu_model, log, stop_process  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEFAULT_MODEL = ROOT / "Tests/Fixtures/models/tiny-f16"
DEFAULT_IMAGES = HERE / ".soak-images"
PHOTO_FOLDERS = [ROOT / "Tests/Fixtures/pipeline/images", ROOT / "Examples/images"]
FORMATS = [("jpg", ["-c:v", "mjpeg", "-q:v", "4", "-pix_fmt", "yuvj444p"]),
           ("png", ["-c:v", "png"]),
           ("webp", ["-c:v", "libwebp", "-quality", "80"]),
           ("gif", ["-c:v", "gif"]),
           ("bmp", ["-c:v", "bmp", "-pix_fmt", "bgr24"])]
LABELS = ["cat", "dog", "rocket", "cup of coffee", "astronaut", "camera", "a galaxy", "a motorcycle"]
TEMPLATE = "This is a photo of {}."


# ----------------------------------------------------------------------------------------------------------------
# The images


def image_plan(count, seed=14):
    """(file name, source photo, ffmpeg filter, format options) for each image: varied sizes, aspect ratios,
    flips and crops, the formats in turn. The same plan for the same count and seed."""
    photos = sorted(p for folder in PHOTO_FOLDERS for p in folder.iterdir()
                    if p.suffix.lower() in (".jpg", ".png", ".webp"))
    if not photos:
        raise SystemExit(f"error: no fixture photos in {', '.join(map(str, PHOTO_FOLDERS))}")
    rng = random.Random(seed)
    plan = []
    for index in range(count):
        photo = photos[index % len(photos)]
        extension, options = FORMATS[index % len(FORMATS)]
        # Mostly everyday sizes, a few tiny and a few large ones.
        side = rng.choice([rng.randint(24, 96), rng.randint(100, 640), rng.randint(100, 640), rng.randint(641, 1600)])
        aspect = rng.choice([1.0, 4 / 3, 3 / 4, 16 / 9, 9 / 16, 3.0, 1 / 3, rng.uniform(0.5, 2.0)])
        width = max(8, int(side * (aspect ** 0.5)))
        height = max(8, int(side / (aspect ** 0.5)))
        filters = []
        if rng.random() < 0.3:
            filters.append(f"crop=iw*{rng.uniform(0.5, 0.95):.2f}:ih*{rng.uniform(0.5, 0.95):.2f}")
        filters.append(f"scale={width}:{height}:flags=bicubic")
        if rng.random() < 0.25:
            filters.append("hflip")
        if rng.random() < 0.1:
            filters.append("vflip")
        plan.append((f"{index:04d}.{extension}", photo, ",".join(filters), options))
    return plan


def make_images(folder, count):
    """Makes the images of the plan that are missing in `folder` (ffmpeg, two at a time); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    plan = image_plan(count)
    missing = [entry for entry in plan if not (folder / entry[0]).exists()]
    if missing:
        log(f"making {len(missing)} images in {folder} with ffmpeg")

        def make(entry):
            name, photo, filters, options = entry
            target = folder / name
            partial = folder / f".partial-{name}"
            command = ["ffmpeg", "-v", "error", "-y", "-i", str(photo), "-vf", filters, "-frames:v", "1",
                       *options, "-f", "image2", str(partial)]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0 or not partial.exists():
                raise RuntimeError(f"ffmpeg failed for {name}: {result.stderr.strip()[:500]}")
            partial.rename(target)

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(make, missing))
    return [folder / entry[0] for entry in plan]


# ----------------------------------------------------------------------------------------------------------------
# Sampling /proc


def read_sample(pid):
    """{"rss_kb", "fds", "maps"} of a process, or None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fields = {name: int(value) for name, value in re.findall(r"^(VmRSS|RssAnon|RssFile):\s+(\d+)\s+kB", status, re.M)}
        rss = fields.get("VmRSS")
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/maps", "rb") as maps:
            mappings = sum(1 for _ in maps)
    except (OSError, ValueError):
        return None
    if rss is None:  # a zombie has no VmRSS
        return None
    return {"rss_kb": rss, "anon_kb": fields.get("RssAnon", 0), "file_kb": fields.get("RssFile", 0), "fds": fds,
            "maps": mappings}


class Sampler(threading.Thread):
    """Samples a process every `interval` seconds until stopped or until it is gone."""

    def __init__(self, pid, interval=1.0):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples = []  # (seconds since start, sample)
        self.began = time.monotonic()
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            sample = read_sample(self.pid)
            if sample is None:
                return
            self.samples.append((time.monotonic() - self.began, sample))
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join()


def summarise(samples, warmup, tolerance, window=30):
    """The figures of the report. Single samples move with the images in flight (a batch of large images holds tens
    of MiB for a moment), so the levels compared are medians over `window` seconds: RSS after warm-up is the median
    of the samples in [warmup, warmup + window), final the median of the last `window` seconds, and the drift
    (final - after warm-up) / after warm-up in %, the figure held to ±tolerance. Max and min are single samples after
    warm-up, reported with their excursion from the level after warm-up."""
    after = [(t, s) for t, s in samples if t >= warmup]
    if not after:
        return None
    end = after[-1][0]
    result = {}
    for key in ("rss_kb", "anon_kb", "file_kb", "fds", "maps"):
        values = [s[key] for _, s in after]
        first = [s[key] for t, s in after if t < warmup + window] or values[:1]
        last = [s[key] for t, s in after if t > end - window] or values[-1:]
        base, final = statistics.median(first), statistics.median(last)
        top, low = max(values), min(values)
        percent = (lambda v: (v - base) / base * 100 if base else 0.0)
        result[key] = {"after_warmup": base, "max": top, "min": low, "final": final,
                       "last_sample": values[-1], "drift_percent": percent(final),
                       "max_excursion_percent": percent(top), "min_excursion_percent": percent(low),
                       "first": samples[0][1][key], "peak_overall": max(s[key] for _, s in samples)}
    rss = result["rss_kb"]
    result["pass"] = abs(rss["drift_percent"]) <= tolerance
    # A leak of fds or mappings grows their count: it may move by a few (threads, a connection), not keep growing.
    result["fds_grew"] = result["fds"]["last_sample"] > result["fds"]["after_warmup"] + 2
    result["maps_grew"] = result["maps"]["last_sample"] > result["maps"]["after_warmup"] + 16
    result["samples_after_warmup"] = len(after)
    return result


# ----------------------------------------------------------------------------------------------------------------
# The two ways to run


def classify_command(args, listing):
    command = [args.zeroshot, "classify", "--model", args.model, "--format", "jsonl", "--quiet", "--no-text-cache",
               "--template", TEMPLATE, "--labels", ",".join(LABELS), "--files-from", str(listing)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    return command


def measure_rate(args, images, workdir):
    """Images per second of `zeroshot classify` on the first 100 images (load time left out)."""
    listing = Path(workdir) / "rate.txt"
    sample = images[:100]
    listing.write_text("".join(f"{p}\n" for p in sample))
    began = time.monotonic()
    first = None
    process = subprocess.Popen(classify_command(args, listing), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines = 0
    for _ in process.stdout:
        lines += 1
        if first is None:
            first = time.monotonic()
    process.wait()
    if lines < 2:
        raise SystemExit(f"error: zeroshot classify printed {lines} results for {len(sample)} images "
                         f"(exit {process.returncode})")
    return (lines - 1) / max(time.monotonic() - first, 1e-3), time.monotonic() - began


def run_cli(args, images, workdir):
    rate, _ = measure_rate(args, images, workdir)
    # Enough passes to last the duration at twice the measured rate; the process is stopped when the time is up.
    passes = max(1, int(rate * 2 * args.duration / len(images)) + 1)
    log(f"classify: {rate:.1f} images/s on a first pass; the list repeats the {len(images)} images {passes} times")
    listing = Path(workdir) / "soak.txt"
    listing.write_text("".join(f"{p}\n" for _ in range(passes) for p in images))
    command = classify_command(args, listing)
    log("running " + " ".join(map(str, command)))
    counted = {"results": 0, "errors": 0}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    sampler = Sampler(process.pid)
    sampler.start()

    def read_stdout():
        for line in process.stdout:
            counted["results"] += 1

    def read_stderr():
        for line in process.stderr:
            counted["errors"] += 1
            if counted["errors"] <= 5:
                log("zeroshot: " + line.decode("utf-8", "replace").rstrip())

    readers = [threading.Thread(target=read_stdout, daemon=True), threading.Thread(target=read_stderr, daemon=True)]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + args.duration
    next_report = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)
        if time.monotonic() >= next_report:
            next_report += 60
            progress(sampler, counted["results"])
    finished_early = process.poll() is not None
    sampler.stop()
    code, _ = stop_process(process)
    for reader in readers:
        reader.join(timeout=5)
    return sampler.samples, {"results": counted["results"], "stderr_lines": counted["errors"],
                             "exit_code": code, "ended_before_time": finished_early, "passes_listed": passes,
                             "command": [str(c) for c in command]}


def listening_port(log_path):
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if "listening" not in line:
            continue
        try:
            entry = json.loads(line[line.find("{"):])
        except ValueError:
            continue
        port = entry.get("port") or (entry.get("metadata") or {}).get("port")
        if port:
            return int(port)
    return None


def run_server(args, images, workdir):
    log_path = Path(workdir) / "serve.log"
    command = [args.zeroshot, "serve", "--host", "127.0.0.1", "--port", "0", "--model", args.model,
               "--no-text-cache"]
    if args.threads:
        command += ["--threads", str(args.threads)]
    env = dict(os.environ, ZEROSHOT_LOG_LEVEL="info")  # the "listening" line is logged at info
    log("running " + " ".join(map(str, command)))
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        port = None
        while port is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"error: zeroshot serve did not listen:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.05)
            port = listening_port(log_path)
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"error: zeroshot serve not ready:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.2)
        log(f"serve listens on port {port} (pid {process.pid})")
        sampler = Sampler(process.pid)
        sampler.start()
        counted = {"results": 0, "errors": 0, "reconnects": 0}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        end = time.monotonic() + args.duration
        next_report = time.monotonic() + 60
        index = 0
        while time.monotonic() < end and process.poll() is None:
            path = images[index % len(images)]
            index += 1
            body = json.dumps({"inputs": base64.b64encode(path.read_bytes()).decode("ascii"),
                               "parameters": {"candidate_labels": LABELS, "hypothesis_template": TEMPLATE}}).encode()
            try:
                connection.request("POST", "/v1/zero-shot-image-classification", body=body,
                                   headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = response.read()
                if response.status == 200 and isinstance(json.loads(answer), list):
                    counted["results"] += 1
                else:
                    counted["errors"] += 1
                    if counted["errors"] <= 5:
                        log(f"{path.name}: HTTP {response.status} {answer[:200]!r}")
            except (OSError, http.client.HTTPException, ValueError) as error:
                counted["errors"] += 1
                counted["reconnects"] += 1
                log(f"{path.name}: {error}; reconnecting")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            if time.monotonic() >= next_report:
                next_report += 60
                progress(sampler, counted["results"])
        connection.close()
        died = process.poll() is not None
        sampler.stop()
    finally:
        code, _ = stop_process(process)
    return sampler.samples, {"results": counted["results"], "errors": counted["errors"],
                             "reconnects": counted["reconnects"], "exit_code": code, "ended_before_time": died,
                             "command": [str(c) for c in command]}


def progress(sampler, results):
    if sampler.samples:
        t, s = sampler.samples[-1]
        log(f"{t:5.0f} s: {results} results, RSS {s['rss_kb'] / 1024:.1f} MiB, {s['fds']} fds, {s['maps']} maps")


# ----------------------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zeroshot", default=str(ROOT / ".build/release/zeroshot"), help="the binary")
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model directory (default: tiny-f16)")
    parser.add_argument("--duration", type=float, default=600, help="seconds of classification (default 600)")
    parser.add_argument("--warmup", type=float, default=60, help="seconds before the reference sample (default 60)")
    parser.add_argument("--tolerance", type=float, default=5.0, help="allowed RSS drift in %% (default 5)")
    parser.add_argument("--threads", type=int, default=None, help="--threads of zeroshot (default: its own)")
    parser.add_argument("--images", type=int, default=1000, help="number of distinct images (default 1000)")
    parser.add_argument("--image-dir", default=str(DEFAULT_IMAGES), help="where the images are cached")
    parser.add_argument("--server", action="store_true", help="one `zeroshot serve` fed by requests")
    parser.add_argument("--json", help="write the samples and the summary to this file")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.warmup >= args.duration:
        parser.error("--warmup must be >= 0 and below --duration, --duration > 0")
    if args.images < 1 or args.tolerance <= 0 or (args.threads is not None and args.threads < 1):
        parser.error("--images and --threads must be >= 1, --tolerance > 0")
    if not Path(args.zeroshot).is_file():
        parser.error(f"no zeroshot binary at {args.zeroshot} (swift build -c release, or --zeroshot PATH)")
    if not (Path(args.model) / "config.json").is_file():
        parser.error(f"--model {args.model}: no config.json there")
    return args


def main(argv=None):
    args = parse_args(argv)
    images = make_images(Path(args.image_dir), args.images)
    formats = {}
    for path in images:
        formats[path.suffix] = formats.get(path.suffix, 0) + 1
    started = datetime.datetime.now(datetime.timezone.utc)
    with tempfile.TemporaryDirectory(prefix="zeroshot-soak-") as workdir:
        if args.server:
            samples, run = run_server(args, images, workdir)
        else:
            samples, run = run_cli(args, images, workdir)
    summary = summarise(samples, args.warmup, args.tolerance)
    mode = "serve" if args.server else "classify"
    print(f"soak: zeroshot {mode}, {len(images)} images ({', '.join(f'{n} {k[1:]}' for k, n in formats.items())}), "
          f"model {args.model}, threads {args.threads or 'default'}, {args.duration:.0f} s")
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
          f"{started:%Y-%m-%d %H:%M} UTC")
    print(f"results: {run['results']}" + (f", errors {run['errors']}" if "errors" in run else
                                          f", stderr lines {run['stderr_lines']}"))
    ok = summary is not None and not run["ended_before_time"]
    if summary is None:
        print(f"FAIL: no sample after {args.warmup:.0f} s (the process ended: exit {run['exit_code']})")
    else:
        rss = summary["rss_kb"]
        mib = lambda kb: f"{kb / 1024:.1f} MiB"  # noqa: E731
        print(f"RSS: after warm-up {mib(rss['after_warmup'])} (median of {args.warmup:.0f}-{args.warmup + 30:.0f} s), "
              f"final {mib(rss['final'])} (median of the last 30 s), drift {rss['drift_percent']:+.2f}%; "
              f"max {mib(rss['max'])} ({rss['max_excursion_percent']:+.1f}%), min {mib(rss['min'])} "
              f"({rss['min_excursion_percent']:+.1f}%); peak before warm-up {mib(rss['peak_overall'])}")
        for key, name in (("anon_kb", "RssAnon"), ("file_kb", "RssFile")):
            v = summary[key]
            print(f"{name}: after warm-up {mib(v['after_warmup'])}, final {mib(v['final'])}, "
                  f"drift {v['drift_percent']:+.2f}%, max {mib(v['max'])}")
        for key, name in (("fds", "fds"), ("maps", "mappings")):
            v = summary[key]
            print(f"{name}: after warm-up {v['after_warmup']:g}, max {v['max']}, min {v['min']}, "
                  f"last {v['last_sample']}")
        if run["ended_before_time"]:
            print(f"FAIL: the process ended before the time was up (exit {run['exit_code']})")
        verdict = summary["pass"] and ok and not summary["fds_grew"] and not summary["maps_grew"]
        reasons = []
        if not summary["pass"]:
            reasons.append(f"RSS drift beyond ±{args.tolerance:g}%")
        if summary["fds_grew"]:
            reasons.append("fd count grew")
        if summary["maps_grew"]:
            reasons.append("mapping count grew")
        print(("PASS" if verdict else "FAIL") + f": RSS within ±{args.tolerance:g}% after warm-up"
              + ("" if verdict else " — " + "; ".join(reasons or ["the run did not complete"])))
        ok = verdict
    if args.json:
        Path(args.json).write_text(json.dumps({
            "mode": mode, "model": args.model, "threads": args.threads, "duration": args.duration,
            "warmup": args.warmup, "tolerance": args.tolerance, "cpu": cpu_model(), "date": started.isoformat(),
            "run": run, "summary": summary,
            "samples": [{"t": round(t, 2), **s} for t, s in samples]}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
