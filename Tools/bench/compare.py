"""Side-by-side performance comparison of zeroshot with transformers and ONNX Runtime on one CLIP checkpoint.

For each checkpoint (given with --checkpoint, or built with random weights for a named shape) the script measures,
in one run and alternating between engines round by round:

  image tower   per-image milliseconds at batch 1 and batch 16 (pixel_values -> image_embeds):
                transformers (torch float32), ONNX Runtime float32, ONNX Runtime dynamic int8 and
                `zeroshot bench --precision fp32|int8`
  text tower    milliseconds for 10 labels: transformers' get_text_features vs 10 x zeroshot's text_ms_per_label
  whole process wall time of `zeroshot classify` of one photo against 4 labels vs the Python recipe
                (pipeline("zero-shot-image-classification")), each a fresh process, with the checkpoint's files
                evicted from the page cache before every run
  memory        zeroshot's peak_rss_mb (and the classify process's peak RSS) vs the checkpoint's file size
  int8 cosine   image-embedding cosine of int8 to float32 (zeroshot when `embed` has --precision; ONNX Runtime
                always, as context)

and prints a markdown table of medians with the ratio zeroshot / reference, the target and PASS/FAIL.

Usage:
  python Tools/bench/compare.py                          # B/32 and L/14, built into Tools/bench/.bench-models/
  python Tools/bench/compare.py --shapes b32 --rounds 5 --json bench.json
  python Tools/bench/compare.py --checkpoint ~/models/clip-vit-base-patch32
  python Tools/bench/compare.py --shape tiny --rounds 2   # a small random model, to check the script itself

zeroshot's own numbers come from `zeroshot bench ... --format json` (keys image_ms_per_image, text_ms_per_label,
load_ms, peak_rss_mb; with image_gflop_per_image and fma_peak_gflops the table adds each engine's GFLOP/s and the
lowest batch 16 / batch 1 ratio the machine's float32 multiply-add peak allows). The script relies on that command timing the text tower without its label cache and on
peak_rss_mb being in MiB. When the binary or the command is missing or fails, its cells read "n/a" and the error
is listed under the table; the transformers and ONNX Runtime columns are still measured.
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import cpu_model, log, median  # noqa: E402

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "Tools" / "reference"))

SEED = 0
IMAGE_SIZE = 224
TEXT_LABELS = ["cat", "dog", "car", "airplane", "bird", "ship", "horse", "truck", "frog", "deer"]
TEXT_TEMPLATE = "a photo of a {}."
CLASSIFY_LABELS = ["cat", "dog", "rocket", "cup of coffee"]

# vision / text tower sizes; "b32" is transformers' default CLIPConfig, "l14" openai/clip-vit-large-patch14.
SHAPES = {
    "b32": dict(
        text=dict(hidden_size=512, intermediate_size=2048, num_attention_heads=8, num_hidden_layers=12),
        vision=dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                    patch_size=32, image_size=224),
        projection_dim=512,
    ),
    "l14": dict(
        text=dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12),
        vision=dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=24,
                    patch_size=14, image_size=224),
        projection_dim=768,
    ),
    "tiny": dict(
        text=dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_hidden_layers=2),
        vision=dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_hidden_layers=2,
                    patch_size=32, image_size=224),
        projection_dim=32,
    ),
}
SHAPE_NAMES = {"b32": "ViT-B/32", "l14": "ViT-L/14", "tiny": "tiny"}


# ----------------------------------------------------------------------------------------------------------------
# Checkpoint and exports


def build_checkpoint(shape, directory):
    """Writes a random-weight CLIP checkpoint in Hugging Face layout (float32 safetensors, tokenizer with the real
    CLIP vocabulary, openai's preprocessor settings) into `directory`, unless a complete one is already there."""
    directory = Path(directory)
    marker = directory / ".complete"
    if marker.exists():
        return directory
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer
    from clip_vocab import write_vocab

    log(f"building {SHAPE_NAMES[shape]} checkpoint in {directory}")
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    spec = SHAPES[shape]
    vocab_size = write_vocab(str(directory))
    text = dict(spec["text"], vocab_size=vocab_size, projection_dim=spec["projection_dim"])
    vision = dict(spec["vision"], projection_dim=spec["projection_dim"])
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=spec["projection_dim"])
    torch.manual_seed(SEED)
    model = CLIPModel(config).to(torch.float32).eval()
    model.save_pretrained(str(directory))
    tokenizer = CLIPTokenizer.from_pretrained(str(directory), model_max_length=77)
    tokenizer.save_pretrained(str(directory))
    CLIPImageProcessor(crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(str(directory))
    marker.write_text(json.dumps({"shape": shape, "seed": SEED}))
    return directory


class ImageTower:
    """pixel_values [batch, 3, H, W] -> image_embeds [batch, projection_dim] (not normalised), as
    CLIPModel.get_image_features."""

    def __new__(cls, model):
        import torch

        class _Tower(torch.nn.Module):
            def __init__(self, clip):
                super().__init__()
                self.vision_model = clip.vision_model
                self.visual_projection = clip.visual_projection

            def forward(self, pixel_values):
                pooled = self.vision_model(pixel_values=pixel_values).pooler_output
                return self.visual_projection(pooled)

        return _Tower(model).eval()


def checkpoint_for(checkpoint, shape, cache_dir):
    """The model directory a bench script measures: `checkpoint` as given (resolved), else the random-weight
    checkpoint of `shape` under `cache_dir`, built on first use."""
    if checkpoint:
        return Path(checkpoint).expanduser().resolve()
    directory = Path(cache_dir) / f"clip-{shape}"
    if not (directory / "config.json").exists():
        log(f"building {directory}")
        build_checkpoint(shape, directory)
    return directory.resolve()


def export_onnx(checkpoint, cache, notes):
    """Exports the image tower to ONNX (dynamic batch axis) and a dynamically quantised int8 copy; cached in
    `cache`. Returns (fp32 path, int8 path or None)."""
    import torch
    from transformers import CLIPModel

    cache.mkdir(parents=True, exist_ok=True)
    fp32 = cache / "image_tower.onnx"
    int8 = cache / "image_tower.int8.onnx"
    stamp = cache / "source.json"
    source = {"checkpoint": str(Path(checkpoint).resolve()),
              "mtime": os.path.getmtime(Path(checkpoint) / "model.safetensors")}
    if stamp.exists() and json.loads(stamp.read_text()) != source:
        shutil.rmtree(cache)
        cache.mkdir(parents=True)
    if not (fp32.exists() and (cache / "export.json").exists()):
        log(f"exporting the image tower to {fp32}")
        model = CLIPModel.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
        tower = ImageTower(model)
        example = torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE)
        how = None
        errors = []
        try:
            batch = torch.export.Dim("batch", min=1, max=1024)
            torch.onnx.export(tower, (example,), str(fp32), dynamo=True, input_names=["pixel_values"],
                              output_names=["image_embeds"], dynamic_shapes={"pixel_values": {0: batch}},
                              external_data=False, optimize=True)
            how = "torch.onnx.export(dynamo=True)"
        except Exception as error:  # fall back to the TorchScript exporter
            errors.append(f"dynamo export failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
            with torch.no_grad():
                torch.onnx.export(tower, (example,), str(fp32), dynamo=False, input_names=["pixel_values"],
                                  output_names=["image_embeds"], opset_version=17,
                                  dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}})
            how = "torch.onnx.export(dynamo=False, opset 17)"
        # Check the export against torch at a batch size other than the example's.
        import onnxruntime as ort
        session = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
        check = torch.randn(3, 3, IMAGE_SIZE, IMAGE_SIZE, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            expected = tower(check).numpy()
        got = session.run(None, {"pixel_values": check.numpy()})[0]
        error = float(np.max(np.abs(got - expected)))
        if error > 1e-3 * max(1.0, float(np.max(np.abs(expected)))):
            raise RuntimeError(f"ONNX export differs from torch: max abs error {error}")
        (cache / "export.json").write_text(json.dumps({"exporter": how, "errors": errors, "max_abs_error": error}))
        if int8.exists():
            int8.unlink()
        del model, tower, session
    info = json.loads((cache / "export.json").read_text())
    notes.append(f"ONNX export: {info['exporter']} (max abs error vs torch {info['max_abs_error']:.1e})"
                 + "".join(f"; {e}" for e in info["errors"]))
    if not int8.exists():
        log(f"quantising to {int8}")
        from onnxruntime.quantization import QuantType, quantize_dynamic
        try:
            quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
            (cache / "quant.json").write_text(json.dumps({"per_channel": True}))
        except Exception as error:
            log(f"per-channel quantisation failed ({error}); per-tensor")
            quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=False)
            (cache / "quant.json").write_text(json.dumps({"per_channel": False, "error": str(error)[:200]}))
    quant = json.loads((cache / "quant.json").read_text()) if (cache / "quant.json").exists() else {}
    notes.append("ONNX Runtime int8: quantize_dynamic, QInt8 weights, "
                 + ("per-channel" if quant.get("per_channel") else "per-tensor"))
    stamp.write_text(json.dumps(source))
    return fp32, int8


# ----------------------------------------------------------------------------------------------------------------
# Engines


class TorchEngine:
    def __init__(self, checkpoint, threads):
        import torch
        from transformers import CLIPModel, CLIPTokenizer
        torch.set_num_threads(threads)
        self.torch = torch
        self.model = CLIPModel.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
        self.tower = ImageTower(self.model)
        self.tokenizer = CLIPTokenizer.from_pretrained(str(checkpoint))

    def image(self, pixel_values):
        with self.torch.inference_mode():
            return self.tower(self.torch.from_numpy(pixel_values)).numpy()

    def image_gflop_per_image(self, pixel_values):
        """torch's flop count (FlopCounterMode, 2 per multiply-add) of one image through the image tower, as
        transformers (and the ONNX export of the same graph) computes it."""
        from torch.utils.flop_counter import FlopCounterMode
        with self.torch.inference_mode(), FlopCounterMode(display=False) as flops:
            self.tower(self.torch.from_numpy(pixel_values[:1]))
        return flops.get_total_flops() / 1e9

    def text(self, sequences):
        with self.torch.inference_mode():
            inputs = self.tokenizer(sequences, padding=True, return_tensors="pt")
            features = self.model.get_text_features(**inputs)
            return getattr(features, "pooler_output", features)


class OrtEngine:
    def __init__(self, path, threads):
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def image(self, pixel_values):
        return self.session.run(None, {"pixel_values": pixel_values})[0]


# Runs a command from a small interpreter, so that the command's peak RSS is its own: Linux carries the exec'ing
# process's high-water mark over into ru_maxrss, and a child spawned straight from this (large) process would
# report this process's size.
LAUNCHER = """
import json, os, sys, time
report = sys.argv[1]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as error:
        sys.stderr.write(f"cannot run {sys.argv[2]}: {error}\\n")
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(report, "w") as f:
    json.dump({"wall": wall, "maxrss_kib": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}, f)
"""


class ForeignLoad:
    """How much CPU time processes other than this one and its children used between start() and stop(), as a
    fraction of all cores' time: a busy machine makes every number slower and noisier."""

    @staticmethod
    def _busy_seconds():
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        except OSError:
            return None
        user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in (fields + ["0"] * 8)[:8])
        return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")

    def start(self):
        self.busy, self.own, self.wall = self._busy_seconds(), sum(os.times()[:4]), time.monotonic()
        return self

    def stop(self):
        busy = self._busy_seconds()
        if busy is None or self.busy is None:
            return None
        own = sum(os.times()[:4]) - self.own
        wall = time.monotonic() - self.wall
        return max(0.0, (busy - self.busy - own) / (wall * (os.cpu_count() or 1)))


def run_process(command, env=None, timeout=None):
    """Runs `command`; returns (wall seconds, peak RSS of that process in MiB, exit code, stdout, stderr)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".json") as report:
        launcher = [sys.executable, "-S", "-c", LAUNCHER, report.name]
        process = subprocess.Popen(launcher + [str(c) for c in command], stdout=out, stderr=err, env=env,
                                   start_new_session=True)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)  # the launcher and the command it started, nothing else
            process.wait()
            return (None, None, -9, "", f"timed out after {timeout} s")
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        try:
            info = json.loads(Path(report.name).read_text())
        except ValueError:
            return (None, None, -1, stdout, stderr or "launcher failed")
        return info["wall"], info["maxrss_kib"] / 1024.0, info["code"], stdout, stderr


class ZeroShot:
    """zeroshot's CLI; records why a configuration is unavailable instead of raising."""

    def __init__(self, binary, threads, iterations, env):
        self.binary = binary
        self.threads = threads
        self.iterations = iterations
        self.env = env
        self.errors = {}  # configuration -> error text; a failed configuration is not retried
        self.missing = None
        self.bench_has_precision = None  # without the option, float32 calls leave it out
        if not binary or not Path(binary).is_file() or not os.access(binary, os.X_OK):
            self.missing = f"zeroshot binary not found at {binary}"

    def error(self, key):
        return self.missing or self.errors.get(key)

    def bench(self, checkpoint, batch, precision, iterations=None):
        key = f"bench --batch {batch} --precision {precision}"
        if self.error(key) or self.errors.get("bench") or self.errors.get(f"bench --precision {precision}"):
            return None
        if self.bench_has_precision is None:
            self.bench_has_precision = self.help_mentions("bench", "--precision")
        if not self.bench_has_precision and precision != "fp32":
            self.errors[f"bench --precision {precision}"] = ("`zeroshot bench` has no --precision option; float32 "
                                                             "calls leave it out")
            return None
        command = [self.binary, "bench", "--model", str(checkpoint), "--batch", str(batch),
                   "--iterations", str(iterations or self.iterations), "--threads", str(self.threads),
                   "--format", "json"]
        if self.bench_has_precision:
            command[-2:-2] = ["--precision", precision]
        # The same text workload as the transformers column: these labels in this template.
        command[-2:-2] = ["--labels", ",".join(TEXT_LABELS), "--template", TEXT_TEMPLATE]
        try:
            wall, rss, code, out, err = run_process(command, env=self.env, timeout=3600)
        except OSError as error:
            self.errors[key] = f"{shlex.join(command)}: {error}"
            return None
        if code != 0:
            message = f"`{shlex.join(command[1:])}` exited {code}: {last_line(err) or last_line(out)}"
            if code == 64:  # a usage error (no bench command, or options it does not know): no call can succeed
                self.errors["bench"] = message
            else:
                self.errors[key] = message
            return None
        try:
            result = json.loads(out)
            if isinstance(result, list) and len(result) == 1:
                result = result[0]
            for name in ("image_ms_per_image", "text_ms_per_label", "load_ms", "peak_rss_mb"):
                if name not in result:
                    raise KeyError(name)
                result[name] = float(result[name])
            # Newer binaries also report the operation count and the machine's float32 peak; kept only when they
            # are finite positive numbers.
            for name in ("image_gflop_per_image", "fma_peak_gflops"):
                value = result.pop(name, None)
                try:
                    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
                except OverflowError:
                    number = None
                if number is not None and 0 < number < math.inf:
                    result[name] = number
                elif value is not None:
                    self.errors.setdefault(f"bench {name}", f"`zeroshot bench` gave {name} = {value!r}, not a "
                                                             "positive number; the GFLOP/s rows are left out")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            self.errors[key] = f"`{shlex.join(command[1:])}`: unreadable JSON ({type(error).__name__}: {error}): {out[:200]!r}"
            return None
        result["process_peak_rss_mb"] = rss
        return result

    def help_mentions(self, subcommand, option):
        """Whether `zeroshot SUBCOMMAND --help` lists `option` among its options (not merely in an example)."""
        if self.missing:
            return False
        try:
            _, _, _, out, err = run_process([self.binary, subcommand, "--help"], env=self.env, timeout=60)
        except OSError:
            return False
        pattern = re.compile(rf"(^\s*|\[){re.escape(option)}\b", re.MULTILINE)
        return bool(pattern.search(out + "\n" + err))

    def embed_image(self, checkpoint, image, precision):
        key = f"embed --precision {precision}"
        if self.error(key):
            return None
        command = [self.binary, "embed", "--model", str(checkpoint), "--image", str(image), "--precision", precision,
                   "--format", "json"]
        wall, rss, code, out, err = run_process(command, env=self.env, timeout=600)
        if code != 0:
            self.errors[key] = f"`{shlex.join(command[1:])}` exited {code}: {last_line(err)}"
            return None
        try:
            return np.asarray(json.loads(out)[0]["embedding"], dtype=np.float64)
        except (ValueError, KeyError, IndexError, TypeError) as error:
            self.errors[key] = f"embed: unreadable JSON ({error})"
            return None


def last_line(text):
    """The line of a command's output that says what went wrong: its first "error" line, else its last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error")]
    return (errors or lines[-1:] or [""])[0][:300]


def evict_from_page_cache(directory):
    """Drops the checkpoint's files from the page cache (posix_fadvise DONTNEED), so that a run reads them from
    disk as after a reboot. Touches only these files."""
    for path in Path(directory).iterdir():
        if path.is_file():
            try:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)
            except OSError:
                pass


PYTHON_RECIPE = """
import sys
from transformers import pipeline
classifier = pipeline("zero-shot-image-classification", model=sys.argv[1], device="cpu")
print(classifier(sys.argv[2], candidate_labels=sys.argv[3].split(",")))
"""


# ----------------------------------------------------------------------------------------------------------------
# Measurement of one checkpoint


def measure(checkpoint, label, cache, args, zs):
    notes = []
    result = {"checkpoint": str(checkpoint), "name": label, "notes": notes, "samples": {}}
    samples = result["samples"]

    rounds_of = {}  # sample key -> the timed round of each sample (None outside the rounds)
    current_round = [None]

    def add(key, value):
        samples.setdefault(key, []).append(value)
        rounds_of.setdefault(key, []).append(current_round[0])

    size = (Path(checkpoint) / "model.safetensors").stat().st_size
    result["checkpoint_mib"] = size / 2**20

    fp32_path, int8_path = export_onnx(checkpoint, cache, notes)
    log("loading transformers and ONNX Runtime")
    engines = {
        "transformers": TorchEngine(checkpoint, args.threads),
        "ort_fp32": OrtEngine(fp32_path, args.threads),
        "ort_int8": OrtEngine(int8_path, args.threads),
    }
    rng = np.random.default_rng(SEED)
    inputs = {b: rng.standard_normal((b, 3, IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32) for b in args.batches}
    result["reference_image_gflop_per_image"] = engines["transformers"].image_gflop_per_image(inputs[args.batches[0]])
    sequences = [TEXT_TEMPLATE.format(x) for x in TEXT_LABELS]

    # ONNX Runtime int8 vs float32 on the same input (context for zeroshot's int8 cosine; random weights).
    a = engines["ort_fp32"].image(inputs[args.batches[-1]])
    b = engines["ort_int8"].image(inputs[args.batches[-1]])
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    result["ort_int8_cosine_min"] = float(np.min(cos))

    log("warm-up")
    for _ in range(args.warmup):
        for batch in args.batches:
            for engine in engines.values():
                engine.image(inputs[batch])
        engines["transformers"].text(sequences)
    # one short zeroshot call so its first timed round does not also pay for reading the checkpoint from disk
    zs.bench(checkpoint, args.batches[0], "fp32", iterations=1)

    load = ForeignLoad().start()
    python_engines = list(engines)
    round_foreign = []
    for r in range(args.rounds):
        log(f"round {r + 1}/{args.rounds}")
        current_round[0] = r
        round_load = ForeignLoad().start()
        for batch in args.batches:
            for precision in ("fp32", "int8"):
                out = zs.bench(checkpoint, batch, precision)
                if out:
                    add(f"zeroshot_{precision}_b{batch}", out["image_ms_per_image"])
                    add(f"zeroshot_{precision}_b{batch}_text_ms_per_label", out["text_ms_per_label"])
                    add(f"zeroshot_{precision}_b{batch}_load_ms", out["load_ms"])
                    add(f"zeroshot_{precision}_b{batch}_peak_rss_mb", out["peak_rss_mb"])
                    add(f"zeroshot_{precision}_b{batch}_process_rss_mb", out["process_peak_rss_mb"])
                    for key in ("image_gflop_per_image", "fma_peak_gflops"):  # newer binaries only
                        if key in out:
                            add(f"zeroshot_{key}", out[key])
            order = python_engines[r % len(python_engines):] + python_engines[:r % len(python_engines)]
            for name in order:
                time.sleep(args.pause)
                start = time.perf_counter()
                engines[name].image(inputs[batch])
                add(f"{name}_b{batch}", (time.perf_counter() - start) * 1000.0 / batch)
        time.sleep(args.pause)
        start = time.perf_counter()
        engines["transformers"].text(sequences)
        add("transformers_text10", (time.perf_counter() - start) * 1000.0)
        round_foreign.append(round_load.stop())
    current_round[0] = None
    del engines
    result["foreign_cpu_fraction"] = foreign = load.stop()
    if foreign is not None:
        notes.append(f"other processes used {foreign:.0%} of the machine's CPU time during the timed rounds"
                     + (": the machine was busy, these numbers are slower and noisier than on an idle one"
                        if foreign > args.max_foreign else ""))

    # zeroshot's int8 image embedding vs its float32 one, when `embed` takes --precision
    if zs.help_mentions("embed", "--precision"):
        e32 = zs.embed_image(checkpoint, args.image, "fp32")
        e8 = zs.embed_image(checkpoint, args.image, "int8")
        if e32 is not None and e8 is not None:
            result["zeroshot_int8_cosine"] = float(e32 @ e8 / (np.linalg.norm(e32) * np.linalg.norm(e8)))
    elif not zs.missing:
        zs.errors["embed --precision"] = "`zeroshot embed` has no --precision option; int8 cosine not measured"

    # whole process, cold: fresh processes, checkpoint files evicted from the page cache before each run
    if args.cold_runs > 0:
        log("whole-process runs")
        cold_load = ForeignLoad().start()
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
        zs_cmd = [zs.binary, "classify", "--model", str(checkpoint), "--labels", ",".join(CLASSIFY_LABELS),
                  str(args.image)]
        py_cmd = [sys.executable, "-c", PYTHON_RECIPE, str(checkpoint), str(args.image), ",".join(CLASSIFY_LABELS)]
        for r in range(args.cold_runs):
            for name, command in (("zeroshot", zs_cmd), ("python", py_cmd))[:: 1 if r % 2 == 0 else -1]:
                if name == "zeroshot" and zs.error("classify"):
                    continue
                if name == "python" and args.skip_python_recipe:
                    continue
                evict_from_page_cache(checkpoint)
                wall, rss, code, out, err = run_process(command, env=env, timeout=1200)
                if code != 0:
                    if name == "zeroshot":
                        zs.errors["classify"] = f"`zeroshot classify` exited {code}: {last_line(err)}"
                    else:
                        result.setdefault("errors", []).append(f"python recipe exited {code}: {last_line(err)}")
                        args.skip_python_recipe = True
                    continue
                add(f"{name}_classify_s", wall)
                add(f"{name}_classify_rss_mb", rss)
        foreign = cold_load.stop()
        notes.append("whole process: fresh process each run, checkpoint files dropped from the page cache "
                     "(posix_fadvise DONTNEED) before each; Python packages and the binary stay cached"
                     + (f"; other processes used {foreign:.0%} of the CPU time meanwhile" if foreign is not None else ""))
    # Rounds during which other processes were busy are left out, as long as at least 3 quiet ones remain.
    result["round_foreign_cpu_fraction"] = round_foreign
    quiet = {r for r, f in enumerate(round_foreign) if f is None or f <= args.max_foreign}
    if len(quiet) == len(round_foreign):
        kept = None
    elif len(quiet) >= 3:
        kept = quiet
        notes.append(f"medians over the {len(quiet)} of {len(round_foreign)} rounds in which other processes used "
                     f"<= {args.max_foreign:.0%} of the CPU time (per round: "
                     + ", ".join("?" if f is None else f"{f:.0%}" for f in round_foreign) + ")")
    else:
        kept = None
        notes.append(f"only {len(quiet)} of {len(round_foreign)} rounds had other processes at <= "
                     f"{args.max_foreign:.0%} of the CPU time; medians over all rounds")
    result["rounds_kept"] = sorted(kept) if kept is not None else list(range(len(round_foreign)))
    result["medians"] = {
        key: median([v for v, r in zip(values, rounds_of[key]) if kept is None or r is None or r in kept])
        for key, values in samples.items()}
    result["minimums"] = {key: min(values) for key, values in samples.items() if values}
    # The machine's float32 multiply-add peak: the best any bench call measured.
    peaks = samples.get("zeroshot_fma_peak_gflops")
    result["fma_peak_gflops"] = max(peaks) if peaks else None
    if peaks:
        notes.append("GFLOP/s: each engine's floating-point operations per image (2 per multiply-add, torch's flop "
                     "count; zeroshot runs the last layer for the class token alone) over its time per image, against "
                     "the float32 multiply-add peak `zeroshot bench` measured on the same threads (best of its runs). "
                     "No float32 batch runs faster than that peak, so batch 16 / batch 1 per image cannot go below "
                     "batch 1's share of it: the batching target is out of reach when that share is above 0.85")
    elif not zs.missing:
        notes.append("`zeroshot bench` reported no image_gflop_per_image / fma_peak_gflops (an older binary?): "
                     "no GFLOP/s rows")
    return result


# ----------------------------------------------------------------------------------------------------------------
# Report


def fmt(value, digits=1):
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def desc(value, text, digits=2, space=" "):
    return "n/a" if value is None else f"{fmt(value, digits)}{space}{text}"


def verdict(ratio, target, at_most=True):
    if ratio is None:
        return "n/a"
    return "PASS" if (ratio <= target if at_most else ratio >= target) else "FAIL"


def table(result, zs_errors):
    m = result["medians"]
    g = m.get
    name = result["name"]
    rows = []

    def ratio(a, b):
        return a / b if a is not None and b not in (None, 0) else None

    for batch in sorted({int(k.split("_b")[1]) for k in m if k.startswith("ort_fp32_b")}):
        zs = g(f"zeroshot_fp32_b{batch}")
        r = ratio(zs, g(f"ort_fp32_b{batch}"))
        rows.append([f"{name} image fp32, batch {batch} (ms/image)", fmt(g(f"transformers_b{batch}")),
                     fmt(g(f"ort_fp32_b{batch}")), fmt(g(f"ort_int8_b{batch}")), fmt(zs),
                     desc(r, "zeroshot / ORT fp32"), "<= 0.9", verdict(r, 0.9)])
    # Rates: the image tower's floating-point operations per image over each engine's time per image, against
    # the float32 multiply-add peak `zeroshot bench` measured on the same threads.
    # zeroshot runs the last layer for the class token alone, so its count is lower than the reference's (torch's
    # count of transformers' graph, which the ONNX export shares).
    flop, ref_flop = g("zeroshot_image_gflop_per_image"), result.get("reference_image_gflop_per_image")
    peak = result.get("fma_peak_gflops")

    def rate(gflop, ms):
        return gflop / ms * 1000 if gflop and ms else None

    if flop and peak:
        for batch in sorted({int(k.split("_b")[1]) for k in m if k.startswith("ort_fp32_b")}):
            zs_rate = rate(flop, g(f"zeroshot_fp32_b{batch}"))
            rows.append([f"{name} image fp32, batch {batch} (GFLOP/s; GFLOP/image: zeroshot {flop:.3g}, "
                         f"others {fmt(ref_flop, 3)})", fmt(rate(ref_flop, g(f"transformers_b{batch}"))),
                         fmt(rate(ref_flop, g(f"ort_fp32_b{batch}"))), "", fmt(zs_rate),
                         desc(ratio(zs_rate, peak), f"of the FMA peak ({peak:.0f} GFLOP/s)"), "", ""])
    for batch in sorted({int(k.split("_b")[1]) for k in m if k.startswith("ort_int8_b")}):
        zs8 = g(f"zeroshot_int8_b{batch}")
        r = ratio(zs8, g(f"zeroshot_fp32_b{batch}"))
        rows.append([f"{name} image int8, batch {batch} (ms/image)", "", "", fmt(g(f"ort_int8_b{batch}")), fmt(zs8),
                     desc(r, "zeroshot int8 / zeroshot fp32"), "<= 0.6", verdict(r, 0.6)])
    if g("ort_fp32_b16") is not None and g("ort_fp32_b1") is not None:
        def b(engine):
            return ratio(g(f"{engine}_b16"), g(f"{engine}_b1"))
        r = b("zeroshot_fp32")
        rows.append([f"{name} batching: batch 16 / batch 1 per image", fmt(b("transformers"), 2),
                     fmt(b("ort_fp32"), 2), fmt(b("ort_int8"), 2), fmt(r, 2), f"{fmt(r, 2)}", "<= 0.85",
                     verdict(r, 0.85)])
        # Batch 16 cannot run faster than the peak, so batch 16 / batch 1 cannot fall below batch 1's share of it.
        if flop and peak and g("zeroshot_fp32_b1"):
            floor = ratio(rate(flop, g("zeroshot_fp32_b1")), peak)
            rows.append([f"{name} batching: lowest batch 16 / batch 1 the FMA peak allows (batch 1's share of it)",
                         fmt(ratio(rate(ref_flop, g("transformers_b1")), peak), 2),
                         fmt(ratio(rate(ref_flop, g("ort_fp32_b1")), peak), 2), "", fmt(floor, 2),
                         f"{fmt(floor, 2)}", "<= 0.85",
                         "out of reach" if floor > 0.85 else "reachable"])
    text_zs = [g(f"zeroshot_fp32_b{b}_text_ms_per_label") for b in (1, 16)]
    text_zs = median([t * len(TEXT_LABELS) for t in text_zs if t is not None])
    speedup = ratio(g("transformers_text10"), text_zs)
    rows.append([f"{name} text tower, {len(TEXT_LABELS)} labels (ms)", fmt(g("transformers_text10")), "", "",
                 fmt(text_zs), desc(speedup, "x faster than transformers", 2, ""), ">= 3x", verdict(speedup, 3.0, False)])
    rows.append([f"{name} load (ms)", "", "", "", fmt(g("zeroshot_fp32_b1_load_ms")), "", "", ""])
    size = result["checkpoint_mib"]
    for batch in (1, 16):
        rss = g(f"zeroshot_fp32_b{batch}_peak_rss_mb")
        if rss is None and g(f"ort_fp32_b{batch}") is None:
            continue
        r = ratio(rss, size)
        rows.append([f"{name} peak RSS, bench fp32 batch {batch} (MiB)", "", "", "", fmt(rss),
                     desc(r, f"x checkpoint ({size:.0f} MiB)"), "<= 1.3", verdict(r, 1.3)])
    if "python_classify_s" in m or "zeroshot_classify_s" in m:
        zs_rss = g("zeroshot_classify_rss_mb")
        r = ratio(zs_rss, size)
        rows.append([f"{name} peak RSS, classify process (MiB)", fmt(g("python_classify_rss_mb")), "", "",
                     fmt(zs_rss), desc(r, f"x checkpoint ({size:.0f} MiB)"), "<= 1.3", verdict(r, 1.3)])
        zs_s = g("zeroshot_classify_s")
        r = ratio(g("python_classify_s"), zs_s)
        # The whole-process target is set for ViT-B/32; other checkpoints get the numbers without a verdict.
        cold_target = ("<= 0.5 s", verdict(zs_s, 0.5)) if name == SHAPE_NAMES["b32"] else ("(set for ViT-B/32)", "")
        rows.append([f"{name} classify 1 photo x 4 labels, cold (s wall)", fmt(g("python_classify_s"), 2), "", "",
                     fmt(zs_s, 2), desc(r, "x faster than Python", 1, ""), *cold_target])
    cos = result.get("zeroshot_int8_cosine")
    rows.append([f"{name} int8 image-embedding cosine to fp32", "", "", fmt(result.get("ort_int8_cosine_min"), 4),
                 fmt(cos, 4), "", ">= 0.99", verdict(cos, 0.99, False)])
    header = ["metric", "transformers", "ORT fp32", "ORT int8", "zeroshot", "ratio", "target", "result"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * 5 + ["---", "---"]) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine_info(threads):
    cpu = cpu_model()
    versions = {"python": platform.python_version()}
    for module in ("torch", "transformers", "onnxruntime", "onnx"):
        try:
            versions[module] = __import__(module).__version__
        except Exception:
            versions[module] = "missing"
    try:
        mem = next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
        mem_gib = int(mem.split()[1]) / 2**20
    except (OSError, StopIteration):
        mem_gib = None
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "memory_gib": mem_gib, "threads": threads,
            "os": platform.platform(), "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "versions": versions}


def resolve_binary(path):
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists():
        return str(candidate.resolve()) if candidate.exists() else str(candidate)
    return str(ROOT / candidate)


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The module docstring as written, and every option's default."""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=HelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", type=Path, help="a CLIP model directory in Hugging Face layout")
    source.add_argument("--shape", choices=sorted(SHAPES), help="build and measure one random-weight shape")
    source.add_argument("--shapes", default="b32,l14", help="comma-separated shapes to build and measure")
    parser.add_argument("--skip-l14", action="store_true", help="leave out ViT-L/14")
    parser.add_argument("--cache-dir", type=Path, default=HERE / ".bench-models",
                        help="where built checkpoints and ONNX exports are kept ")
    parser.add_argument("--zeroshot", default=".build/release/zeroshot",
                        help="the zeroshot binary (relative paths are tried in the working directory, then the "
                             "repository root)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per engine (medians over rounds)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls per Python engine before the rounds")
    parser.add_argument("--pause", type=float, default=0.1,
                        help="seconds of idle before each timed Python call, so that the previous engine's worker "
                             "threads have stopped spinning")
    parser.add_argument("--max-foreign", type=float, default=0.25,
                        help="leave out of the medians the rounds in which other processes used more than this "
                             "fraction of the CPU time, when at least 3 rounds remain (1 keeps all)")
    parser.add_argument("--iterations", type=int, default=3, help="--iterations of each zeroshot bench call")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="threads per engine (the cores this process may use)")
    parser.add_argument("--batches", default="1,16", help="image batch sizes")
    parser.add_argument("--cold-runs", type=int, default=3, help="whole-process runs per program (0 to skip)")
    parser.add_argument("--skip-python-recipe", action="store_true", help="time only zeroshot classify")
    parser.add_argument("--image", type=Path, default=ROOT / "Examples" / "images" / "cat.jpg",
                        help="the photo of the whole-process runs and of the int8 cosine")
    parser.add_argument("--json", type=Path, help="also write all raw samples and medians here")
    args = parser.parse_args()
    args.batches = sorted({int(b) for b in args.batches.split(",")})
    if args.rounds < 1 or args.threads < 1 or args.iterations < 1 or min(args.batches) < 1:
        parser.error("--rounds, --threads, --iterations and batch sizes must be positive")
    if not args.image.is_file():
        parser.error(f"image not found: {args.image}")

    targets = []
    if args.checkpoint:
        if not (args.checkpoint / "model.safetensors").is_file():
            parser.error(f"{args.checkpoint}: no model.safetensors (a single-file float32 checkpoint is needed)")
        targets.append((args.checkpoint.resolve(), args.checkpoint.resolve().name,
                        args.cache_dir / "exports" / args.checkpoint.resolve().name))
    else:
        shapes = [args.shape] if args.shape else [s.strip() for s in args.shapes.split(",") if s.strip()]
        if args.skip_l14:
            shapes = [s for s in shapes if s != "l14"]
        for shape in shapes:
            if shape not in SHAPES:
                parser.error(f"unknown shape {shape!r} (known: {', '.join(sorted(SHAPES))})")
            directory = args.cache_dir / f"clip-{shape}"
            targets.append((directory, SHAPE_NAMES[shape], directory / "onnx"))

    machine = machine_info(args.threads)
    binary = resolve_binary(args.zeroshot)
    zs = ZeroShot(binary, args.threads, args.iterations, dict(os.environ, HF_HUB_OFFLINE="1"))
    results = []
    for checkpoint, label, cache in targets:
        try:
            if not args.checkpoint:
                build_checkpoint(next(s for s in SHAPES if SHAPE_NAMES[s] == label), checkpoint)
            results.append(measure(checkpoint, label, cache, args, zs))
        except Exception as error:
            traceback.print_exc()
            results.append({"name": label, "checkpoint": str(checkpoint),
                            "failure": f"{type(error).__name__}: {error}"})

    v = machine["versions"]
    print(f"Machine: {machine['cpu']}, {machine['cores']} cores"
          + (f", {machine['memory_gib']:.0f} GiB" if machine["memory_gib"] else "") + f"; {machine['os']}")
    print(f"Date: {machine['date']}; threads per engine: {args.threads}; rounds: {args.rounds} "
          f"(zeroshot bench --iterations {args.iterations} per round); whole-process runs: {args.cold_runs}")
    print(f"Versions: torch {v['torch']}, transformers {v['transformers']}, onnxruntime {v['onnxruntime']}, "
          f"Python {v['python']}; zeroshot {binary}")
    print()
    for result in results:
        if "failure" in result:
            print(f"{result['name']}: measurement failed: {result['failure']}\n")
            continue
        print(table(result, zs.errors))
        print()
        for note in result["notes"] + result.get("errors", []):
            print(f"- {note}")
        print()
    errors = ([zs.missing] if zs.missing else []) + [f"{k}: {e}" for k, e in zs.errors.items()]
    if errors:
        print("zeroshot cells marked n/a:")
        for error in dict.fromkeys(errors):
            print(f"- {error}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "zeroshot": binary, "zeroshot_errors": errors,
                                         "results": results}, indent=1))


if __name__ == "__main__":
    main()
