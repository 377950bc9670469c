#!/usr/bin/env python3
"""Load test for `zeroshot serve` (issue 12's targets), side by side with a Python server in the same run.

For a bounded time at each concurrency level, N keep-alive HTTP/1.1 connections (asyncio streams: one request in
flight per connection, the next sent as soon as the answer is read) send a mix of requests: by default 75%
`POST /v1/zero-shot-image-classification` (JSON, a base64 photo, fixed candidate labels) and 25% `POST
/v1/embeddings` (1 to 4 short texts, new for each request). Every answer is checked (status 200 and the expected
JSON shape); anything else counts as an error, by kind. Per request the latency (send to the last byte of the
answer), status and error are recorded.

    python Tools/bench/load_test.py --zeroshot .build/release/zeroshot --python-server --rounds 3   # README table
    python Tools/bench/load_test.py --url http://127.0.0.1:8080 --duration 10 --concurrency 1,8

A started server is `zeroshot serve --host 127.0.0.1 --port 0 --model DIR` (the bound port read from its
`{"msg":"listening","port"}` log line) or `python_server.py` (transformers' pipeline behind uvicorn); a server at
`--url` must be on loopback. The script waits for `/readyz`, checks that each server's scores match `zeroshot
classify` on every photo, warms the server up at the highest concurrency, reads its resident memory (VmRSS of
/proc/PID/status) after the warm-up, after each phase and after all rounds, and stops it with SIGTERM (SIGKILL after
a grace period) at the end, on an error and on Ctrl-C. Rounds alternate the servers (the order rotates each round)
and the table gives medians over rounds. With `--zeroshot`, each round also times `zeroshot classify --format
jsonl` over the same photos repeated (about `--classify-seconds` of work, one process, the same labels and template)
for the baseline images/s, and runs zeroshot once more at the highest concurrency on photos only, like for like.
Every phase has a time limit; the client's own CPU use is reported next to the server's.
"""

import argparse
import asyncio
import base64
import datetime
import hashlib
import http.client
import ipaddress
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import cpu_model, log, median, stop_process  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

LABELS = ["cat", "dog", "rocket", "cup of coffee", "astronaut", "horse", "a galaxy", "a motorcycle"]
TEMPLATE = "This is a photo of {}."
ADJECTIVES = ["red", "small", "old", "wet", "bright", "blurry", "happy", "wooden", "striped", "tiny", "large",
              "dark", "green", "shiny", "broken", "sleepy", "golden", "snowy", "plastic", "fluffy"]
NOUNS = ["cat", "dog", "car", "bicycle", "house", "tree", "boat", "bird", "chair", "clock", "rocket", "horse",
         "teapot", "lamp", "mountain", "bridge", "guitar", "train", "apple", "shoe", "phone", "airplane", "flower",
         "umbrella", "castle", "robot", "cake", "owl", "fox", "whale"]
FORMS = ["a photo of a {} {} {}.", "a {} {} {}", "the {} {} seen {}", "a drawing of a {} {} {}", "{} {} {} at night"]
PLACES = ["on a table", "in the snow", "on a beach", "in a kitchen", "in the city", "in a forest", "under a bridge",
          "on the grass", "in the rain", "at a market", "in a garden", "on a road", "by the sea", "in a museum",
          "on a shelf", "in the desert", "at dawn", "in a field", "on a boat", "in the mountains"]

TARGETS = {"zeroshot_ratio_vs_classify": 0.85, "rss_growth": 0.05, "zeroshot_vs_python_throughput_c8": 3.0}


def percentile(sorted_values, q):
    """Nearest-rank percentile (q in 0..100) of an ascending list; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


# ----------------------------------------------------------------------------------------------------------------
# The photos and the requests


def default_photos():
    """Real photos shipped with the repository and the venv: the examples, a fixture ImageNet photo, scikit-image's
    colour sample photos (as stored, PNG and JPEG up to 1411x1411) and foolbox's ImageNet samples (224x224 JPEG)."""
    paths = sorted((ROOT / "Examples" / "images").glob("*.jpg"))
    paths.append(ROOT / "Tests" / "Fixtures" / "images" / "jpeg_real_imagenet.jpg")
    try:
        import skimage
        data = Path(skimage.__file__).parent / "data"
        for name in ("astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "retina.jpg",
                     "motorcycle_left.png", "ihc.png", "rocket.jpg"):
            paths.append(data / name)
    except ImportError:
        log("scikit-image is not installed: its sample photos are not used")
    try:
        import importlib.util
        spec = importlib.util.find_spec("foolbox")
        if spec and spec.origin:
            paths += sorted((Path(spec.origin).parent / "data").glob("imagenet_*.jpg"))[:10]
    except ImportError:
        pass
    return [p for p in paths if p.is_file()]


def load_photos(directory):
    """(path, bytes) of each photo, duplicates (same bytes) left out."""
    if directory:
        folder = Path(directory)
        paths = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"))
    else:
        paths = default_photos()
    photos, seen = [], set()
    for path in paths:
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest not in seen:
            seen.add(digest)
            photos.append((path.resolve(), data))
    return photos


def make_text(rng):
    """A short caption-like text; 1.2 million combinations, so that texts drawn at random rarely repeat."""
    return rng.choice(FORMS).format(f"{rng.choice(ADJECTIVES)} {rng.choice(ADJECTIVES)}", rng.choice(NOUNS),
                                    rng.choice(PLACES))


def text_pool(size, seed):
    rng = random.Random(seed)
    texts = set()
    while len(texts) < size:
        texts.add(make_text(rng))
    return sorted(texts)


def http_request(host, port, path, body, api_key=None):
    headers = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
               f"Content-Length: {len(body)}", "Accept: application/json", "User-Agent: zeroshot-load-test"]
    if api_key:
        headers.append(f"Authorization: Bearer {api_key}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + body


class Workload:
    """The requests of a run. The classification requests (the photos in base64, the fixed labels) are serialised
    once, so that the client does no encoding of images while it measures; an embedding request's 1 to 4 texts are
    drawn at random, from `texts` when given (a fixed pool: repeated texts), else made up fresh for each request
    (texts a server has not seen before, so that its text-embedding cache does not answer them)."""

    def __init__(self, photos, labels, template, texts, classify_share, seed):
        self.photos = photos
        self.classification_bodies = []
        for _, data in photos:
            payload = {"inputs": base64.b64encode(data).decode("ascii"),
                       "parameters": {"candidate_labels": labels, "hypothesis_template": template}}
            self.classification_bodies.append(json.dumps(payload).encode())
        self.texts = texts
        self.labels = labels
        self.classify_share = classify_share
        self.seed = seed

    def prepared(self, host, port, api_key):
        return PreparedWorkload(self, host, port, api_key)


class PreparedWorkload:
    """The requests for one server. `reset(phase)` starts the sequence of a phase: the same for every server,
    different from phase to phase (fresh texts stay fresh); `next()` hands out requests to all connections."""

    def __init__(self, workload, host, port, api_key):
        self.workload = workload
        self.host, self.port, self.api_key = host, port, api_key
        self.classification = [http_request(host, port, "/v1/zero-shot-image-classification", body, api_key)
                               for body in workload.classification_bodies]
        self.reset()

    def reset(self, phase=0, classify_share=None):
        self.share = self.workload.classify_share if classify_share is None else classify_share
        self.rng = random.Random(f"{self.workload.seed}/{phase}/kinds")
        self.text_rng = random.Random(f"{self.workload.seed}/{phase}/texts")
        self.image_cursor = 0

    def embedding_request(self, texts):
        body = json.dumps({"model": "zeroshot", "input": texts}).encode()
        return http_request(self.host, self.port, "/v1/embeddings", body, self.api_key)

    def next(self):
        """("classification", request bytes, photo index) or ("embeddings", request bytes, number of texts)."""
        if self.rng.random() < self.share:
            index = self.image_cursor % len(self.classification)
            self.image_cursor += 1
            return "classification", self.classification[index], index
        count = self.text_rng.randint(1, 4)
        if self.workload.texts:
            texts = self.text_rng.sample(self.workload.texts, min(count, len(self.workload.texts)))
        else:
            texts = [make_text(self.text_rng) for _ in range(count)]
        return "embeddings", self.embedding_request(texts), len(texts)


# ----------------------------------------------------------------------------------------------------------------
# HTTP/1.1 on asyncio streams


class HTTPError(Exception):
    pass


async def read_response(reader):
    """(status, headers dict with lower-case names, body bytes) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HTTPError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:  # read to the end of the connection
        body = await reader.read()
        headers["connection"] = "close"
    return status, headers, body


def check_body(kind, body, detail):
    """None when a 200 answer has the expected shape, else what is wrong."""
    try:
        payload = json.loads(body)
    except ValueError:
        return "body is not JSON"
    if kind == "classification":
        if not isinstance(payload, list) or len(payload) != detail:
            return f"expected a list of {detail} predictions"
        scores = [p.get("score") for p in payload if isinstance(p, dict)]
        if len(scores) != detail or not all(isinstance(s, (int, float)) for s in scores):
            return "predictions without scores"
        if any(a < b for a, b in zip(scores, scores[1:])):
            return "predictions not sorted best first"
        return None
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or len(data) != detail:
        return f"expected {detail} embeddings in data"
    if not all(isinstance(d, dict) and isinstance(d.get("embedding"), list) and d["embedding"] for d in data):
        return "embeddings missing"
    return None


class Connection:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def exchange(self, request):
        if self.writer is None:
            await self.open()
        self.writer.write(request)
        await self.writer.drain()
        status, headers, body = await read_response(self.reader)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body


async def run_phase(host, port, prepared, concurrency, duration, request_timeout, labels_count, phase=0,
                    classify_share=None, validate=True):
    """`concurrency` connections send requests until `duration` seconds have passed; in-flight requests are waited
    for (at most `request_timeout`). Returns the records (start offset s, latency s, kind, status, error, detail)."""
    prepared.reset(phase, classify_share)
    records = []
    start = time.perf_counter()
    deadline = start + duration

    async def worker():
        connection = Connection(host, port)
        try:
            while time.perf_counter() < deadline:
                kind, request, detail = prepared.next()
                sent = time.perf_counter()
                status, error = None, None
                try:
                    status, body = await asyncio.wait_for(connection.exchange(request), request_timeout)
                    if status != 200:
                        error = f"HTTP {status}"
                        try:
                            message = json.loads(body)["error"]["message"]
                            error += f": {message[:120]}"
                        except (ValueError, KeyError, TypeError):
                            pass
                    elif validate:
                        problem = check_body(kind, body, labels_count if kind == "classification" else detail)
                        if problem:
                            error = f"bad answer: {problem}"
                except asyncio.TimeoutError:
                    error = f"timeout after {request_timeout} s"
                    connection.close()
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, HTTPError,
                        ValueError) as exc:
                    error = f"connection: {type(exc).__name__}: {exc}"[:160]
                    connection.close()
                done = time.perf_counter()
                records.append((sent - start, done - sent, kind, status, error,
                                detail if kind == "classification" else None))
                if error and status is None:
                    await asyncio.sleep(0.05)  # a refused or reset connection: do not spin
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return records, elapsed


def summarize(records, elapsed):
    ok = [r for r in records if r[4] is None]
    latencies = sorted(r[1] * 1000 for r in records)
    by_kind = {}
    for kind in ("classification", "embeddings"):
        lat = sorted(r[1] * 1000 for r in records if r[2] == kind)
        by_kind[kind] = {"requests": len(lat), "errors": sum(1 for r in records if r[2] == kind and r[4]),
                         "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90), "p99_ms": percentile(lat, 99),
                         "max_ms": lat[-1] if lat else None}
    errors = {}
    for r in records:
        if r[4]:
            errors[r[4]] = errors.get(r[4], 0) + 1
    images = sum(1 for r in ok if r[2] == "classification")
    texts = sum(1 for r in ok if r[2] == "embeddings")
    return {
        "requests": len(records), "errors": len(records) - len(ok), "error_kinds": errors,
        "elapsed_s": elapsed, "throughput_rps": len(ok) / elapsed if elapsed else None,
        "images_per_s": images / elapsed if elapsed else None,
        "embedding_requests_per_s": texts / elapsed if elapsed else None,
        "p50_ms": percentile(latencies, 50), "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99), "max_ms": latencies[-1] if latencies else None,
        "by_kind": by_kind,
    }


# ----------------------------------------------------------------------------------------------------------------
# Processes


def cpu_seconds(pid):
    """utime + stime of a process (not its children), or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def rss_mib(pid, field="VmRSS"):
    """A process's resident memory in MiB (`field` VmRSS: now; VmHWM: its peak), or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def metric_sums(text):
    """{name: value} of the unlabelled samples and of the sums over labels of each metric in Prometheus text."""
    sums = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        try:
            name_part, value = line.rsplit(" ", 1)
            number = float(value)
        except ValueError:
            continue
        name = name_part.split("{", 1)[0]
        if "_bucket" in name:
            continue
        sums[name] = sums.get(name, 0.0) + number
    return sums


def machine_busy_seconds():
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in (fields + ["0"] * 8)[:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


STARTED = []  # every process this script started and has not yet seen exit: stopped on the way out


def stop_all(grace=10):
    while STARTED:
        process = STARTED.pop()
        stop_process(process, grace)


class Server:
    """A server process started by this script, or one running at a URL."""

    def __init__(self, name, command=None, url=None, env=None, api_key=None):
        self.name, self.command, self.env, self.api_key = name, command, env, api_key
        self.process = None
        self.host, self.port = "127.0.0.1", None
        self.log_path = None
        if url:
            parsed = urllib.parse.urlsplit(url)
            self.host, self.port = parsed.hostname, parsed.port or 80
        self.rss = {}

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def start(self, listen_timeout, workdir):
        self.log_path = Path(workdir) / f"{self.name}.log"
        log_file = open(self.log_path, "wb")
        log(f"starting {self.name}: {' '.join(map(str, self.command))}")
        self.process = subprocess.Popen([str(c) for c in self.command], stdout=log_file, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=self.env, start_new_session=True)
        log_file.close()
        STARTED.append(self.process)
        deadline = time.monotonic() + listen_timeout
        while time.monotonic() < deadline:
            port = self.listening_port()
            if port:
                self.port = port
                log(f"{self.name} listens on {self.host}:{port} (pid {self.pid})")
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} before listening:\n"
                                   f"{self.log_tail()}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not log a listening port within {listen_timeout} s:\n{self.log_tail()}")

    def listening_port(self):
        """The port of the first `"msg":"listening"` JSON log line (or, failing that, a line saying "listening"
        with a port in it)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return None
        for line in text.splitlines():
            if "listening" not in line.lower():
                continue
            start = line.find("{")
            try:
                entry = json.loads(line[start:]) if start >= 0 else None
            except ValueError:
                entry = None
            if isinstance(entry, dict):
                port = entry.get("port")
                if port is None and isinstance(entry.get("metadata"), dict):
                    port = entry["metadata"].get("port")
                if port:
                    return int(port)
            match = re.search(r"port[\"'=: ]+(\d{2,5})", line) or re.search(r":(\d{2,5})\b", line)
            if match:
                return int(match.group(1))
        return None

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AttributeError):
            return ""

    def get(self, path, timeout=5):
        """(status, body) of a GET over a fresh connection (blocking; for health checks)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def metrics(self):
        """The sums of `metric_sums` from GET /metrics, or None when the server has none."""
        try:
            status, body = self.get("/metrics")
        except (OSError, http.client.HTTPException):
            return None
        return metric_sums(body.decode("utf-8", "replace")) if status == 200 else None

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} while loading:\n"
                                   f"{self.log_tail()}")
            try:
                status, body = self.get("/readyz")
                if status == 200:
                    return
                last = f"HTTP {status} {body[:200]!r}"
            except (OSError, http.client.HTTPException) as error:
                last = str(error)
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready within {timeout} s (last answer: {last})\n{self.log_tail()}")

    def stop(self, grace):
        if not self.process:
            return None
        code, seconds = stop_process(self.process, grace)
        if self.process in STARTED:
            STARTED.remove(self.process)
        return {"exit_code": code, "seconds": seconds}


# ----------------------------------------------------------------------------------------------------------------
# The baseline: zeroshot classify over the same photos in one process


def run_classify(binary, model, photos, repeats, labels, template, threads, timeout, workdir):
    """Runs `zeroshot classify --format jsonl` over the photos repeated `repeats` times; returns wall seconds,
    the steady rate (images/s from the first result line to the last), the whole-process rate and the parsed
    results of the first pass."""
    listing = Path(workdir) / "classify-inputs.txt"
    listing.write_text("".join(f"{path}\n" for _ in range(repeats) for path, _ in photos))
    command = [binary, "classify", "--model", model, "--format", "jsonl", "--quiet", "--no-text-cache",
               "--template", template, "--files-from", str(listing)]
    for label in labels:
        command += ["--label", label]
    if threads:
        command += ["--threads", str(threads)]
    stderr_path = Path(workdir) / "classify.stderr"
    with open(stderr_path, "wb") as err:
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        STARTED.append(process)
        stamps, first_pass = [], []
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            for line in process.stdout:
                stamps.append(time.perf_counter())
                if len(first_pass) < len(photos):
                    first_pass.append(json.loads(line))
            _, status, usage = os.wait4(process.pid, 0)  # wait4: the command's own CPU time
            process.returncode = os.waitstatus_to_exitcode(status)
        finally:
            timer.cancel()
            if process.returncode is None:  # interrupted or failed while reading: stop it here
                process.kill()
                process.wait()
            if process in STARTED:
                STARTED.remove(process)
        wall = time.perf_counter() - began
    expected = repeats * len(photos)
    if process.returncode != 0 or len(stamps) != expected:
        raise RuntimeError(f"zeroshot classify exited with {process.returncode} after {len(stamps)} of {expected} "
                           f"results (timeout {timeout:.0f} s):\n{stderr_path.read_text(errors='replace')[-2000:]}")
    first = stamps[0]
    after_first = sum(1 for s in stamps if s > first)
    steady = after_first / (stamps[-1] - first) if stamps[-1] > first else None
    cpu = usage.ru_utime + usage.ru_stime
    return {"images": expected, "wall_s": wall, "images_per_s": steady, "whole_process_images_per_s": expected / wall,
            "first_result_s": first - began, "cpu_s": cpu, "cpu_ms_per_image": 1000 * cpu / expected,
            "peak_rss_mib": usage.ru_maxrss / 1024}, first_pass


# ----------------------------------------------------------------------------------------------------------------
# Score check


async def classify_once(server, prepared, index, timeout):
    connection = Connection(server.host, server.port)
    try:
        status, body = await asyncio.wait_for(connection.exchange(prepared.classification[index]), timeout)
    finally:
        connection.close()
    if status != 200:
        raise RuntimeError(f"{server.name}: HTTP {status} for {prepared.workload.photos[index][0].name}: "
                           f"{body[:300]!r}")
    return {p["label"]: p["score"] for p in json.loads(body)}


async def embed_once(server, prepared, timeout):
    connection = Connection(server.host, server.port)
    try:
        texts = ["a photo of a cat.", "a photo of a dog on a beach"]
        request, count = prepared.embedding_request(texts), len(texts)
        status, body = await asyncio.wait_for(connection.exchange(request), timeout)
    finally:
        connection.close()
    if status != 200:
        raise RuntimeError(f"{server.name}: embeddings: HTTP {status}: {body[:300]!r}")
    problem = check_body("embeddings", body, count)
    if problem:
        raise RuntimeError(f"{server.name}: embeddings: {problem}")


def compare_scores(server_scores, reference):
    """Largest |score difference| over photos and labels."""
    worst = 0.0
    for scores, ref in zip(server_scores, reference):
        ref_scores = {p["label"]: p["score"] for p in ref["predictions"]}
        if set(scores) != set(ref_scores):
            return math.inf
        worst = max(worst, max(abs(scores[k] - ref_scores[k]) for k in scores))
    return worst


# ----------------------------------------------------------------------------------------------------------------
# Report


def fmt(value, digits=1):
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:,.{digits}f}"


def verdict(ok):
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def aggregate(result):
    """Per server and concurrency: requests and errors summed over rounds; throughput and latencies medians."""
    table = {}
    for phase in result["phases"]:
        key = (phase["server"], phase["concurrency"], phase.get("mix", "mixed"))
        table.setdefault(key, []).append(phase)
    rows = []
    for (server, concurrency, mix), phases in table.items():
        rows.append({
            "server": server, "concurrency": concurrency, "mix": mix, "rounds": len(phases),
            "requests": sum(p["requests"] for p in phases), "errors": sum(p["errors"] for p in phases),
            "throughput_rps": median([p["throughput_rps"] for p in phases]),
            "images_per_s": median([p["images_per_s"] for p in phases]),
            "p50_ms": median([p["p50_ms"] for p in phases]), "p99_ms": median([p["p99_ms"] for p in phases]),
            "classification_p99_ms": median([p["by_kind"]["classification"]["p99_ms"] for p in phases]),
            "embeddings_p99_ms": median([p["by_kind"]["embeddings"]["p99_ms"] for p in phases]),
            "server_cpu_cores": median([p.get("server_cpu_cores") for p in phases]),
            "client_cpu_cores": median([p["client_cpu_cores"] for p in phases]),
            "foreign_load": median([p.get("foreign_load") for p in phases]),
            "mean_batch_size": median([p.get("mean_batch_size") for p in phases]),
            "server_rss_mib": median([p.get("server_rss_mib") for p in phases]),
            "server_cpu_ms_per_request": median([p.get("server_cpu_ms_per_request") for p in phases]),
        })
    return rows


def evaluate(result, rows):
    """The issue's targets, each with its numbers and PASS/FAIL (None: not measured in this run)."""
    checks = []
    find = {(r["server"], r["concurrency"], r["mix"]): r for r in rows}
    top = max(result["config"]["concurrency"])
    for server in result["servers"]:
        name = server["name"]
        errors = sum(r["errors"] for r in rows if r["server"] == name)
        if name == "zeroshot" or len(result["servers"]) == 1:
            checks.append({"target": f"{name}: zero errors", "value": errors, "ok": errors == 0})
        rss = server.get("rss_mib", {})
        if rss.get("after_warmup") and rss.get("after_run"):
            growth = rss["after_run"] / rss["after_warmup"] - 1
            checks.append({"target": f"{name}: RSS after the run within 5% of after warm-up",
                           "value": f"{rss['after_warmup']:.0f} -> {rss['after_run']:.0f} MiB ({growth:+.1%})",
                           "ok": abs(growth) <= TARGETS["rss_growth"] if name == "zeroshot" else None})
    classify = median([c["images_per_s"] for c in result.get("classify", [])])
    # Like for like, classify's work is photos only: the photos-only phase decides; the mixed phase (which also
    # runs the text tower for a quarter of the requests) is shown for context, and decides only without the other.
    photos_only = find.get(("zeroshot", top, "photos only"))
    for mix in ("photos only", "mixed"):
        row = find.get(("zeroshot", top, mix))
        if classify and row and row["images_per_s"]:
            ratio = row["images_per_s"] / classify
            decides = mix == "photos only" or photos_only is None
            checks.append({"target": f"zeroshot images/s at c={top} ({mix}) >= 0.85x `zeroshot classify` (one "
                                     f"process)" + ("" if decides else ", for context"),
                           "value": f"{row['images_per_s']:.2f} / {classify:.2f} = {ratio:.2f}x",
                           "ok": ratio >= TARGETS["zeroshot_ratio_vs_classify"] if decides else None})
    z8, p8 = find.get(("zeroshot", 8, "mixed")), find.get(("python", 8, "mixed"))
    if z8 and p8 and p8["throughput_rps"]:
        ratio = z8["throughput_rps"] / p8["throughput_rps"]
        checks.append({"target": "zeroshot throughput at c=8 >= 3x the Python server's",
                       "value": f"{z8['throughput_rps']:.2f} / {p8['throughput_rps']:.2f} req/s = {ratio:.2f}x",
                       "ok": ratio >= TARGETS["zeroshot_vs_python_throughput_c8"]})
        checks.append({"target": "zeroshot p99 at c=8 < the Python server's",
                       "value": f"{fmt(z8['p99_ms'])} vs {fmt(p8['p99_ms'])} ms",
                       "ok": z8["p99_ms"] is not None and p8["p99_ms"] is not None and z8["p99_ms"] < p8["p99_ms"]})
    return checks


def report(result):
    rows = aggregate(result)
    checks = evaluate(result, rows)
    out = []
    rounds = result["config"]["rounds"]
    out.append(f"Load test: {result['config']['duration_s']:g} s per level, "
               f"{result['config']['classification_share']:.0%} classification / "
               f"{1 - result['config']['classification_share']:.0%} text embeddings, {len(result['photos'])} photos, "
               f"{len(result['config']['labels'])} labels, {rounds} round{'s' if rounds != 1 else ''} "
               f"(medians), {result['machine']['cpu']}, {result['machine']['cores']} cores, "
               f"{result['machine']['date']}")
    out.append("")
    out.append("| server | concurrency | requests | errors | req/s | images/s | p50 ms | p99 ms | mean batch "
               "| server CPU (cores) | client CPU (cores) | other processes |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        foreign = r["foreign_load"]
        name = r["server"] + (" (photos only)" if r["mix"] != "mixed" else "")
        out.append(f"| {name} | {r['concurrency']} | {r['requests']:,} | {r['errors']:,} | "
                   f"{fmt(r['throughput_rps'], 2)} | {fmt(r['images_per_s'], 2)} | {fmt(r['p50_ms'])} | "
                   f"{fmt(r['p99_ms'])} | {fmt(r['mean_batch_size'])} | {fmt(r['server_cpu_cores'], 2)} | "
                   f"{fmt(r['client_cpu_cores'], 3)} | "
                   f"{'n/a' if foreign is None else f'{foreign:.0%}'} |")
    if result.get("classify"):
        c = result["classify"]
        out.append("")
        out.append(f"`zeroshot classify --format jsonl` over the same photos ({c[0]['images']:,} images, one process): "
                   f"{fmt(median([x['images_per_s'] for x in c]), 2)} images/s from its first result to its last "
                   f"({fmt(median([x['whole_process_images_per_s'] for x in c]), 2)} images/s over the whole "
                   f"process, {fmt(median([x['wall_s'] for x in c]))} s; medians of {len(c)}; the waiting servers "
                   f"used {fmt(median([x.get('idle_servers_cpu_cores') for x in c]), 3)} cores meanwhile)")
    if checks:
        out.append("")
        out.append("| target | measured | |")
        out.append("|---|---|---|")
        for check in checks:
            out.append(f"| {check['target']} | {check['value']} | {verdict(check['ok'])} |")
    notes = []
    photos_only = [r for r in rows if r["server"] == "zeroshot" and r["mix"] == "photos only"]
    classify_cpu = median([c.get("cpu_ms_per_image") for c in result.get("classify", [])])
    if photos_only and photos_only[0]["server_cpu_ms_per_request"] and classify_cpu:
        row = photos_only[0]
        notes.append(f"CPU time per photo (moves less with other processes' load than the rates do): zeroshot serve "
                     f"{row['server_cpu_ms_per_request']:.0f} ms (photos only, c={row['concurrency']}), zeroshot "
                     f"classify {classify_cpu:.0f} ms (model load included)")
    for server in result["servers"]:
        if server.get("score_check") is not None:
            notes.append(f"{server['name']}: largest |score - zeroshot classify's| over the photos and labels "
                         f"{server['score_check']:.2e}")
        if server.get("shutdown"):
            s = server["shutdown"]
            notes.append(f"{server['name']}: SIGTERM -> exit {s['exit_code']} in {s['seconds']:.2f} s")
        rss = server.get("rss_mib") or {}
        if rss:
            notes.append(f"{server['name']}: RSS MiB " + ", ".join(f"{k.replace('_', ' ')} {v:.0f}"
                                                                   for k, v in rss.items() if v))
    errors = {}
    for phase in result["phases"]:
        for kind, count in phase["error_kinds"].items():
            key = (phase["server"], kind)
            errors[key] = errors.get(key, 0) + count
    for (server, kind), count in sorted(errors.items()):
        notes.append(f"{server}: {count} x {kind}")
    for note in result.get("notes", []):
        notes.append(note)
    if notes:
        out.append("")
        out += [f"- {n}" for n in notes]
    return "\n".join(out), rows, checks


# ----------------------------------------------------------------------------------------------------------------


def measure_phase(server, servers, prepared, concurrency, share, args, phase):
    """One measured phase against `server`: the load, its summary, the CPU time of the server, of this client and
    of other processes, the server's RSS after it and, from /metrics when the server has them, the mean image
    batch size and the label-cache hits and misses during the phase."""
    mix = "photos only" if share == 1.0 else "mixed"
    log(f"{server.name}, concurrency {concurrency}, {mix}, {args.duration:g} s")
    pids = [s.pid for s in servers if s.pid]
    metrics = server.metrics()
    server_cpu = cpu_seconds(server.pid) if server.pid else None
    all_cpu = [cpu_seconds(pid) for pid in pids]
    own, busy, wall = own_cpu_seconds(), machine_busy_seconds(), time.perf_counter()
    records, elapsed = asyncio.run(run_phase(server.host, server.port, prepared, concurrency, args.duration,
                                             args.request_timeout, len(args.label_list), phase=phase,
                                             classify_share=share))
    wall = time.perf_counter() - wall
    own = own_cpu_seconds() - own
    summary = summarize(records, elapsed)
    summary.update({"server": server.name, "concurrency": concurrency, "mix": mix,
                    "classification_share": share if share is not None else args.classification_share,
                    "client_cpu_cores": own / wall})
    if server.pid and server_cpu is not None:
        after = cpu_seconds(server.pid)
        summary["server_cpu_cores"] = (after - server_cpu) / wall if after is not None else None
        summary["server_rss_mib"] = rss_mib(server.pid)
        if summary["images_per_s"] and summary.get("server_cpu_cores") is not None:
            summary["server_cpu_ms_per_request"] = 1000 * summary["server_cpu_cores"] / summary["throughput_rps"]
    after_all = [cpu_seconds(pid) for pid in pids]
    busy_after = machine_busy_seconds()
    # Other processes' share: the machine's busy time less this client's and the started servers'; a server at --url
    # is not ours to measure, so the share is left out when one is running.
    if busy is not None and busy_after is not None and None not in all_cpu + after_all \
            and all(s.pid for s in servers):
        ours = own + sum(a - b for a, b in zip(after_all, all_cpu))
        summary["foreign_load"] = max(0.0, (busy_after - busy - ours) / (wall * (os.cpu_count() or 1)))
    metrics_after = server.metrics() if metrics is not None else None
    if metrics and metrics_after:
        def delta(name):
            return metrics_after.get(name, 0.0) - metrics.get(name, 0.0) if name in metrics_after else None
        batches, images = delta("zeroshot_batch_size_count"), delta("zeroshot_batch_size_sum")
        if batches:
            summary["mean_batch_size"] = images / batches
        hits, misses = delta("zeroshot_label_cache_hits_total"), delta("zeroshot_label_cache_misses_total")
        if hits is not None and misses is not None:
            summary["label_cache"] = {"hits": hits, "misses": misses}
    summary["records"] = [[round(r[0], 4), round(r[1] * 1000, 2), r[2], r[3], r[4], r[5]] for r in records]
    batch = f", mean batch {summary['mean_batch_size']:.1f}" if summary.get("mean_batch_size") else ""
    log(f"  {summary['requests']} requests, {summary['errors']} errors, {fmt(summary['throughput_rps'], 2)} req/s, "
        f"{fmt(summary['images_per_s'], 2)} images/s, p50 {fmt(summary['p50_ms'])} ms, p99 {fmt(summary['p99_ms'])} "
        f"ms, client CPU {summary['client_cpu_cores']:.3f} cores{batch}")
    if server.process and server.process.poll() is not None:
        raise RuntimeError(f"{server.name} exited with {server.process.returncode} during the run:\n"
                           f"{server.log_tail()}")
    if server.pid:
        summary["settle_s"] = settle(server.pid, args.request_timeout)
    return summary


def settle(pid, limit):
    """Waits (at most `limit` seconds) until the process uses less than 5% of a core over half a second: work the
    client gave up on (timed-out requests) must not run into the next phase. Returns the seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < limit:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        after = cpu_seconds(pid)
        if before is None or after is None or (after - before) / 0.5 < 0.05:
            break
    return time.monotonic() - began


def loopback_url(url):
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "http" or not parsed.hostname:
        raise argparse.ArgumentTypeError(f"{url}: expected http://HOST:PORT (plain HTTP, loopback)")
    host = parsed.hostname
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parsed.port or 80, type=socket.SOCK_STREAM)}
    except socket.gaierror as error:
        raise argparse.ArgumentTypeError(f"{url}: {error}") from None
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise argparse.ArgumentTypeError(f"{url}: not a loopback address (the load test only runs on this machine)")
    return url


def levels_type(text):
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: expected comma-separated integers") from None
    if not levels or any(not 1 <= c <= 1024 for c in levels):
        raise argparse.ArgumentTypeError(f"{text}: each concurrency from 1 to 1024")
    return levels


def positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text}: must be > 0")
        return value
    return parse


def machine_info():
    cpu = cpu_model()
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "os": platform.platform(),
            "python": platform.python_version(),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=type("F", (argparse.RawDescriptionHelpFormatter,
                                                                argparse.ArgumentDefaultsHelpFormatter), {}))
    what = parser.add_argument_group("servers")
    what.add_argument("--url", type=loopback_url, help="a running server to load (loopback only)")
    what.add_argument("--zeroshot", metavar="BIN", help="start `BIN serve --port 0` (and time `BIN classify`)")
    what.add_argument("--python-server", action="store_true", help="start Tools/bench/python_server.py")
    what.add_argument("--model", metavar="DIR",
                      help="model directory for the started servers and classify (default: the random-weight "
                           "ViT-B/32 checkpoint in Tools/bench/.bench-models/clip-b32, built when missing)")
    what.add_argument("--threads", type=positive(int), help="--threads for zeroshot serve and classify, torch "
                                                            "threads of the Python server (default: the cores)")
    what.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                      help="one more argument for `zeroshot serve` (repeatable), e.g. --server-arg=--max-batch=16")
    what.add_argument("--python", default=sys.executable, help="interpreter for python_server.py")
    what.add_argument("--api-key", help="sent as Authorization: Bearer KEY")
    load = parser.add_argument_group("load")
    load.add_argument("--duration", type=positive(float), default=60.0, help="seconds per concurrency level")
    load.add_argument("--concurrency", type=levels_type, default=[1, 8, 32], help="levels, comma-separated")
    load.add_argument("--rounds", type=positive(int), default=1, help="rounds (servers alternate; medians)")
    load.add_argument("--warmup", type=float, default=20.0, help="seconds of load at the highest level before "
                                                                 "measuring (each server)")
    load.add_argument("--images-only-phase", action=argparse.BooleanOptionalAction, default=True,
                      help="with the classify baseline, one more zeroshot phase per round at the highest concurrency "
                           "with classification requests only (the like-for-like ratio to classify)")
    load.add_argument("--classification-share", type=float, default=0.75,
                      help="fraction of requests that classify a photo (the rest: text embeddings)")
    load.add_argument("--images", metavar="DIR", help="folder of photos (default: the repository's and the venv's "
                                                      "sample photos)")
    load.add_argument("--labels", default=",".join(LABELS), help="candidate labels, comma-separated")
    load.add_argument("--template", default=TEMPLATE, help="hypothesis template")
    load.add_argument("--texts", type=int, default=0,
                      help="draw the embedding texts from a fixed pool of this many (repeats: the server's text cache "
                           "answers them); 0: fresh texts for every request")
    load.add_argument("--seed", type=int, default=0)
    load.add_argument("--classify-seconds", type=float, default=40.0,
                      help="work for each `zeroshot classify` baseline run (0: no baseline)")
    limits = parser.add_argument_group("time limits")
    limits.add_argument("--request-timeout", type=positive(float), default=60.0, help="per request, seconds")
    limits.add_argument("--ready-timeout", type=positive(float), default=300.0, help="seconds to wait for /readyz")
    limits.add_argument("--shutdown-grace", type=positive(float), default=40.0,
                        help="seconds after SIGTERM before SIGKILL")
    parser.add_argument("--json", metavar="OUT", help="write the raw results (every request's latency) here")
    args = parser.parse_args(argv)
    if not (args.url or args.zeroshot or args.python_server):
        parser.error("nothing to load: give --url, --zeroshot BIN and/or --python-server")
    if not 0 <= args.classification_share <= 1:
        parser.error("--classification-share: from 0 to 1")
    if args.texts < 0:
        parser.error("--texts: 0 (fresh texts) or more")
    if args.warmup < 0 or args.classify_seconds < 0:
        parser.error("--warmup and --classify-seconds: 0 or more")
    if args.zeroshot:
        path = Path(args.zeroshot).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            parser.error(f"--zeroshot {args.zeroshot}: not an executable file")
        args.zeroshot = str(path.resolve())
    if args.model and not Path(args.model).is_dir():
        parser.error(f"--model {args.model}: not a directory")
    if args.images and not Path(args.images).is_dir():
        parser.error(f"--images {args.images}: not a directory")
    args.label_list = [label.strip() for label in args.labels.split(",") if label.strip()]
    if not args.label_list:
        parser.error("--labels: at least one label")
    return args


def main(argv=None):
    args = parse_args(argv)
    photos = load_photos(args.images)
    if not photos:
        raise SystemExit("no photos found (give --images DIR)")
    model = args.model
    if (args.zeroshot or args.python_server) and not model:
        sys.path.insert(0, str(HERE))
        import compare  # the random-weight checkpoint builder shared by the bench scripts
        model = str(compare.checkpoint_for(None, "b32", HERE / ".bench-models"))
    texts = text_pool(args.texts, args.seed) if args.texts else None
    workload = Workload(photos, args.label_list, args.template, texts, args.classification_share, args.seed)
    text_source = f"a pool of {len(texts)} texts" if texts else "fresh texts"
    log(f"{len(photos)} photos ({sum(len(d) for _, d in photos) / 1e6:.1f} MB), {text_source}, "
        f"labels {args.label_list}")

    result = {"config": {"duration_s": args.duration, "concurrency": args.concurrency, "rounds": args.rounds,
                         "warmup_s": args.warmup, "classification_share": args.classification_share,
                         "labels": args.label_list, "template": args.template,
                         "text_pool": len(texts) if texts else None,
                         "threads": args.threads, "server_args": args.server_arg, "model": model,
                         "request_timeout_s": args.request_timeout, "seed": args.seed},
              "machine": machine_info(),
              "photos": [{"path": str(p), "bytes": len(d)} for p, d in photos],
              "servers": [], "phases": [], "classify": [], "notes": []}
    workdir = tempfile.mkdtemp(prefix="zeroshot-load-")
    servers = []
    try:
        threads_env = dict(os.environ)
        if args.zeroshot:
            command = [args.zeroshot, "serve", "--host", "127.0.0.1", "--port", "0", "--model", model]
            if args.threads:
                command += ["--threads", str(args.threads)]
            command += args.server_arg
            if args.api_key:
                command += ["--api-key", args.api_key]
            servers.append(Server("zeroshot", command=command, env=threads_env, api_key=args.api_key))
        if args.python_server:
            command = [args.python, str(HERE / "python_server.py"), "--host", "127.0.0.1", "--port", "0",
                       "--model", model, "--threads", str(args.threads or len(os.sched_getaffinity(0)))]
            servers.append(Server("python", command=command, env=threads_env))
        if args.url:
            servers.append(Server("server", url=args.url, api_key=args.api_key))
        for server in servers:
            if server.command:
                server.start(60, workdir)
        for server in servers:
            log(f"waiting for {server.name}'s /readyz")
            server.wait_ready(args.ready_timeout)
        prepared = {s.name: workload.prepared(s.host, s.port, args.api_key) for s in servers}

        # The baseline's first run also gives the reference scores of every photo.
        reference = None
        repeats = None
        if args.zeroshot and args.classify_seconds > 0:
            log("calibrating zeroshot classify")
            calibration, reference = run_classify(args.zeroshot, model, photos, 2, args.label_list, args.template,
                                                  args.threads, 600, workdir)
            rate = calibration["images_per_s"] or calibration["whole_process_images_per_s"]
            repeats = max(2, math.ceil(args.classify_seconds * rate / len(photos)))
            log(f"classify: {rate:.1f} images/s; {repeats} passes of the photos per run")
        elif args.zeroshot:
            _, reference = run_classify(args.zeroshot, model, photos, 1, args.label_list, args.template,
                                        args.threads, 600, workdir)

        entries = {}
        for server in servers:
            entry = {"name": server.name, "pid": server.pid, "command": server.command, "url": args.url
                     if server.command is None else f"http://{server.host}:{server.port}", "rss_mib": {}}
            entries[server.name] = entry
            result["servers"].append(entry)
            # Every photo once: the answers must match zeroshot classify's scores.
            scores = [asyncio.run(classify_once(server, prepared[server.name], i, args.request_timeout))
                      for i in range(len(photos))]
            asyncio.run(embed_once(server, prepared[server.name], args.request_timeout))
            if reference:
                entry["score_check"] = compare_scores(scores, reference)
                log(f"{server.name}: largest score difference to zeroshot classify {entry['score_check']:.2e}")
                if entry["score_check"] > 1e-4:
                    result["notes"].append(f"{server.name}'s scores differ from zeroshot classify's by up to "
                                           f"{entry['score_check']:.2e}")
            if server.pid:
                entry["rss_mib"]["ready"] = rss_mib(server.pid)
            if args.warmup > 0:
                top = max(args.concurrency)
                log(f"{server.name}: warm-up, {args.warmup:g} s at concurrency {top}")
                records, elapsed = asyncio.run(run_phase(server.host, server.port, prepared[server.name], top,
                                                         args.warmup, args.request_timeout, len(args.label_list),
                                                         phase="warm-up"))
                warm = summarize(records, elapsed)
                entry["warmup"] = {k: warm[k] for k in ("requests", "errors", "error_kinds", "throughput_rps")}
                if server.pid:
                    settle(server.pid, args.request_timeout)
            if server.pid:
                entry["rss_mib"]["after_warmup"] = rss_mib(server.pid)

        for round_index in range(args.rounds):
            order = servers[round_index % len(servers):] + servers[:round_index % len(servers)]
            log(f"round {round_index + 1} of {args.rounds}")
            if repeats:
                log(f"zeroshot classify, {repeats * len(photos)} images")
                idle = [cpu_seconds(s.pid) for s in servers if s.pid]
                run, _ = run_classify(args.zeroshot, model, photos, repeats, args.label_list, args.template,
                                      args.threads, max(120, 4 * args.classify_seconds), workdir)
                idle_after = [cpu_seconds(s.pid) for s in servers if s.pid]
                if None not in idle + idle_after:  # the servers wait meanwhile: their CPU use should be ~0
                    run["idle_servers_cpu_cores"] = sum(b - a for a, b in zip(idle, idle_after)) / run["wall_s"]
                run["round"] = round_index + 1
                result["classify"].append(run)
                log(f"  {run['images_per_s']:.2f} images/s")
            for server in order:
                plan = [(concurrency, None) for concurrency in args.concurrency]
                if server.name == "zeroshot" and args.images_only_phase and repeats:
                    plan.append((max(args.concurrency), 1.0))  # like for like with classify: photos only
                for concurrency, share in plan:
                    summary = measure_phase(server, servers, prepared[server.name], concurrency, share, args,
                                            phase=f"{round_index}/{concurrency}/{share}")
                    summary["round"] = round_index + 1
                    result["phases"].append(summary)

        for server in servers:
            if server.pid:
                entries[server.name]["rss_mib"]["after_run"] = rss_mib(server.pid)
                entries[server.name]["rss_mib"]["peak"] = rss_mib(server.pid, "VmHWM")
        for server in servers:
            if server.process:
                entries[server.name]["shutdown"] = server.stop(args.shutdown_grace)
    except KeyboardInterrupt:
        log("interrupted: stopping what this script started")
        stop_all(5)
        raise SystemExit(130)
    finally:
        stop_all(args.shutdown_grace)
        failed_logs = [s for s in servers if s.process and s.process.returncode not in (0, None)]
        for server in failed_logs:
            log(f"{server.name} log (last lines):\n{server.log_tail()}")
        shutil.rmtree(workdir, ignore_errors=True)

    text, rows, checks = report(result)
    print(text)
    result["summary"] = rows
    result["targets"] = checks
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
        log(f"wrote {args.json}")
    return 0


def _terminate(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except RuntimeError as error:  # a server or classify run that failed: said once, without a traceback
        log(f"error: {error}")
        sys.exit(1)
