"""SigLIP base-patch16-224's shape: zeroshot against transformers, side by side in one run.

Builds (once, into --cache-dir) a random-weight SiglipModel with google/siglip-base-patch16-224's sizes (vision and
text: hidden 768, 12 layers, 12 heads, MLP 3072; patch 16 at 224 px, 196 patches; text 64 positions, vocabulary
32000) in Hugging Face layout, with a SentencePiece tokenizer from the test fixtures (its vocabulary is not
SigLIP's; the ids only need to be in range) and SiglipImageProcessor's settings. Then, alternating engine by engine
round by round, it measures:

  image tower  per-image milliseconds at batch 1 and batch 16, pixel_values -> image embeddings:
               transformers' SiglipModel.get_image_features (torch float32) vs `zeroshot bench` image_ms_per_image
  text tower   milliseconds for 10 labels in "This is a photo of {}." padded to 64 tokens as the pipeline pads
               them: transformers' get_text_features vs 10 x `zeroshot bench` text_ms_per_label

and prints a markdown table of medians, the ratio zeroshot / transformers and the issue's targets (image tower at
batch 1 at most 0.6x transformers' time; text at least 3x faster, a ratio at most 0.33), with the CPU and the date.

Usage:
  python Tools/bench/compare_siglip.py                      # builds Tools/bench/.bench-models/siglip-b16
  python Tools/bench/compare_siglip.py --rounds 7 --json siglip.json
  python Tools/bench/compare_siglip.py --checkpoint ~/models/siglip-base-patch16-224
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from compare import log, machine_info, median, resolve_binary  # noqa: E402

SEED = 0
LABELS = ["cat", "dog", "car", "airplane", "bird", "ship", "horse", "truck", "frog", "deer"]
TEMPLATE = "This is a photo of {}."
BASE = dict(
    vision=dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                patch_size=16, image_size=224),
    text=dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
              vocab_size=32000, max_position_embeddings=64),
)


def fixture_spiece():
    """A SentencePiece model from the test fixtures (SigLIP tokenizer layout)."""
    found = sorted((ROOT / "Tests" / "Fixtures").rglob("spiece.model"))
    if not found:
        raise SystemExit("no spiece.model under Tests/Fixtures: run Tools/reference/sentencepiece_tokenizer_fixtures.py")
    return found[0]


def build_checkpoint(directory):
    directory = Path(directory)
    marker = directory / ".complete"
    if marker.exists():
        return directory
    import torch
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipTokenizer

    log(f"building the SigLIP base-patch16-224 shape in {directory}")
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    config = SiglipConfig(text_config=BASE["text"], vision_config=BASE["vision"])
    torch.manual_seed(SEED)
    model = SiglipModel(config).to(torch.float32).eval()
    model.save_pretrained(str(directory))
    shutil.copy(fixture_spiece(), directory / "spiece.model")
    SiglipTokenizer(str(directory / "spiece.model"), model_max_length=64).save_pretrained(str(directory))
    SiglipImageProcessor().save_pretrained(str(directory))
    marker.write_text(json.dumps({"shape": "siglip-base-patch16-224", "seed": SEED}))
    return directory


class Transformers:
    def __init__(self, checkpoint, threads):
        import torch
        from transformers import AutoTokenizer, SiglipModel

        torch.set_num_threads(threads)
        self.torch = torch
        self.model = SiglipModel.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
        texts = [TEMPLATE.format(label) for label in LABELS]
        # As the pipeline tokenizes for SigLIP.
        self.text_inputs = tokenizer(texts, padding="max_length", max_length=64, truncation=True, return_tensors="pt")

    def image(self, pixel_values):
        with self.torch.inference_mode():
            self.model.get_image_features(pixel_values=self.torch.from_numpy(pixel_values))

    def text(self):
        with self.torch.inference_mode():
            self.model.get_text_features(**self.text_inputs)


def zeroshot_bench(binary, checkpoint, batch, threads, iterations):
    command = [binary, "bench", "--model", str(checkpoint), "--batch", str(batch), "--threads", str(threads),
               "--iterations", str(iterations), "--labels", ",".join(LABELS), "--template", TEMPLATE,
               "--format", "json"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, help="a SigLIP model directory (default: build the base shape)")
    parser.add_argument("--cache-dir", type=Path, default=HERE / ".bench-models")
    parser.add_argument("--zeroshot", default=".build/release/zeroshot", help="the zeroshot binary")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=3, help="--iterations of each zeroshot bench call")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--json", type=Path, help="also write all samples and medians here")
    args = parser.parse_args()

    checkpoint = args.checkpoint or build_checkpoint(args.cache_dir / "siglip-b16")
    binary = resolve_binary(args.zeroshot)
    info = machine_info(args.threads)
    log("loading transformers")
    reference = Transformers(checkpoint, args.threads)
    rng = np.random.default_rng(SEED)
    inputs = {b: rng.standard_normal((b, 3, 224, 224)).astype(np.float32) for b in (1, 16)}
    log("warm-up")
    for b in inputs:
        reference.image(inputs[b])
    reference.text()
    zeroshot_bench(binary, checkpoint, 1, args.threads, 1)

    samples = {}

    def add(key, value):
        samples.setdefault(key, []).append(value)

    for r in range(args.rounds):
        log(f"round {r + 1}/{args.rounds}")
        for b in inputs:
            engines = ["zeroshot", "transformers"] if r % 2 == 0 else ["transformers", "zeroshot"]
            for engine in engines:
                if engine == "zeroshot":
                    out = zeroshot_bench(binary, checkpoint, b, args.threads, args.iterations)
                    add(f"zeroshot_b{b}", out["image_ms_per_image"])
                    add("zeroshot_text10", 10 * out["text_ms_per_label"])
                    add("zeroshot_threads_used", out.get("threads_used"))
                else:
                    start = time.perf_counter()
                    reference.image(inputs[b])
                    add(f"transformers_b{b}", (time.perf_counter() - start) * 1000 / b)
        start = time.perf_counter()
        reference.text()
        add("transformers_text10", (time.perf_counter() - start) * 1000)

    medians = {k: median(v) for k, v in samples.items()}
    rows = [("image tower, batch 1 (ms/image)", "b1", 0.6), ("image tower, batch 16 (ms/image)", "b16", None),
            ("text tower, 10 labels (ms)", "text10", 1 / 3)]
    print(f"SigLIP base-patch16-224 shape, {info['cpu']}, {info['cores']} cores, {args.threads} threads, "
          f"{info['date']}, transformers {info['versions']['transformers']}, torch {info['versions']['torch']}, "
          f"{args.rounds} rounds\n")
    print("| | transformers | zeroshot | ratio | target | |")
    print("|---|---:|---:|---:|---:|---|")
    for title, key, target in rows:
        t, z = medians.get(f"transformers_{key}"), medians.get(f"zeroshot_{key}")
        ratio = z / t if t and z else None
        verdict = "" if target is None or ratio is None else ("PASS" if ratio <= target else "FAIL")
        print(f"| {title} | {t:.1f} | {z:.1f} | {ratio:.3f} | {'' if target is None else f'<= {target:.2f}'} "
              f"| {verdict} |")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "samples": samples, "medians": medians}, indent=1))


if __name__ == "__main__":
    main()
