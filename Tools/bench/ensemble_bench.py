"""Prompt-ensemble classifier build: zeroshot against transformers, side by side in one run.

The workload is open_clip's zero-shot classifier recipe (`build_zero_shot_classifier`): every class name put
through every template, the text embeddings L2-normalised, averaged per class and renormalised. By default 100
classes (CIFAR-100's names, as `--classnames cifar100`) x 80 templates (`openai-imagenet`, open_clip's
OPENAI_IMAGENET_TEMPLATES) = 8,000 prompts.

  transformers  the way a user writes it (torch float32, no_grad, torch.set_num_threads(--threads)): the model's
                tokenizer on a list of prompts (padding=True for CLIP; SigLIP padded to 64 as its pipeline pads),
                get_text_features, normalise, mean per class, renormalise; the prompts in per-class batches of 80
                (open_clip's loop) and in batches of each size of --torch-batches; the fastest of these ways is
                the reference time.
  zeroshot      `zeroshot bench --templates T --classnames C --iterations 1 --format json`: ensemble_ms, building
                the class embeddings from a freshly loaded classifier (tokenisation included, nothing cached).
                `--baseline PATH` times a second binary in the same rounds (before/after).

Each round runs every measurement once, the order rotating from round to round (the machine may be shared); the
table gives medians over rounds, zeroshot / transformers and the issue's target (<= 0.25). Before timing, the class
embeddings of each zeroshot binary are checked against transformers' (max abs difference <= 1e-4, else the script
fails). The CPU model, the date and the share of the CPU other processes took are printed with the table.

Usage:
  python Tools/bench/ensemble_bench.py                            # clip-b32, 8,000 prompts, 3 rounds
  python Tools/bench/ensemble_bench.py --shape l14 --rounds 3
  python Tools/bench/ensemble_bench.py --checkpoint Tools/bench/.bench-models/siglip-b16
  python Tools/bench/ensemble_bench.py --shape tiny --classes 5 --rounds 1   # checks the script itself
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "Tools" / "reference"))

from compare import ForeignLoad, checkpoint_for, machine_info, resolve_binary  # noqa: E402

TARGET = 0.25
TOLERANCE = 1e-4


def log(message):
    print(message, file=sys.stderr, flush=True)


def prompt_sets(templates_name, classnames_name, classes):
    """(class names, templates as `{}` strings) from the packages the built-in sets were generated from."""
    from prompt_sets import CIFAR10, CIFAR100, as_format
    from open_clip import zero_shot_metadata as zsm

    names = {"cifar100": CIFAR100, "cifar10": CIFAR10, "imagenet": list(zsm.IMAGENET_CLASSNAMES)}
    sets = {"openai-imagenet": [as_format(f) for f in zsm.OPENAI_IMAGENET_TEMPLATES],
            "simple": [as_format(f) for f in zsm.SIMPLE_IMAGENET_TEMPLATES]}
    if classnames_name in names:
        class_names = names[classnames_name]
    else:
        class_names = [line.strip() for line in Path(classnames_name).read_text().splitlines() if line.strip()]
    if templates_name in sets:
        templates = sets[templates_name]
    else:
        templates = [line.strip() for line in Path(templates_name).read_text().splitlines() if line.strip()]
    return class_names[:classes] if classes else class_names, templates


class TorchEnsemble:
    """transformers' text tower, used as a user would to build the classifier."""

    def __init__(self, checkpoint, threads):
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(threads)
        self.torch = torch
        self.model = AutoModel.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
        self.siglip = "siglip" in self.model.config.model_type

    def embed(self, prompts):
        if self.siglip:  # the pipeline's padding for SigLIP
            inputs = self.tokenizer(prompts, padding="max_length", max_length=64, truncation=True,
                                    return_tensors="pt")
        else:
            inputs = self.tokenizer(prompts, padding=True, truncation=True, return_tensors="pt")
        out = self.model.get_text_features(**inputs)
        features = out if isinstance(out, self.torch.Tensor) else out.pooler_output
        return features / features.norm(dim=-1, keepdim=True)

    def classifier(self, class_names, templates, batch):
        """[classes, dim]: batch 0 = one class's prompts per call (open_clip's loop), else `batch` prompts per
        call over the class-major list."""
        torch = self.torch
        with torch.no_grad():
            if batch == 0:
                rows = []
                for name in class_names:
                    e = self.embed([t.format(name) for t in templates]).mean(dim=0)
                    rows.append(e / e.norm())
                return torch.stack(rows).numpy()
            prompts = [t.format(name) for name in class_names for t in templates]
            parts = [self.embed(prompts[i:i + batch]) for i in range(0, len(prompts), batch)]
            e = torch.cat(parts).reshape(len(class_names), len(templates), -1).mean(dim=1)
            return (e / e.norm(dim=-1, keepdim=True)).numpy()


def run_zeroshot(binary, checkpoint, args, embeddings_out=None):
    command = [binary, "bench", "--model", str(checkpoint), "--templates", args.templates_arg,
               "--classnames", args.classnames_arg, "--iterations", "1", "--threads", str(args.threads),
               "--format", "json"]
    if embeddings_out:
        command += ["--embeddings-out", str(embeddings_out)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint")
    parser.add_argument("--shape", default="b32", choices=["b32", "l14", "tiny"])
    parser.add_argument("--cache-dir", default=str(HERE / ".bench-models"))
    parser.add_argument("--zeroshot", default=".build/release/zeroshot")
    parser.add_argument("--baseline", help="a second zeroshot binary timed in the same rounds")
    parser.add_argument("--templates", default="openai-imagenet", help="openai-imagenet, simple or a file")
    parser.add_argument("--classnames", default="cifar100", help="cifar100, cifar10, imagenet or a file")
    parser.add_argument("--classes", type=int, default=0, help="the first N class names only (default: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--torch-batches", default="1024", help="prompt batch sizes besides per-class (0 = none)")
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.rounds < 1 or args.threads < 1 or args.classes < 0:
        parser.error("--rounds and --threads must be >= 1, --classes >= 0")
    batches = [0] + [int(b) for b in args.torch_batches.split(",") if int(b) > 0]

    checkpoint = checkpoint_for(args.checkpoint, args.shape, args.cache_dir)
    class_names, templates = prompt_sets(args.templates, args.classnames, args.classes)
    prompts = len(class_names) * len(templates)
    binaries = {"zeroshot": resolve_binary(args.zeroshot)}
    if args.baseline:
        binaries["baseline"] = resolve_binary(args.baseline)
    work = Path(tempfile.mkdtemp(prefix="ensemble-bench-"))
    # zeroshot reads the class names from a file, so both sides see the same (possibly shortened) list.
    names_file = work / "classnames.txt"
    names_file.write_text("\n".join(class_names) + "\n")
    args.classnames_arg = str(names_file)
    args.templates_arg = args.templates

    torch_side = TorchEnsemble(checkpoint, args.threads)
    log(f"{checkpoint.name}: {len(class_names)} classes x {len(templates)} templates = {prompts} prompts")
    reference = torch_side.classifier(class_names, templates, batches[-1])
    for name, binary in binaries.items():
        out = work / f"{name}.json"
        run_zeroshot(binary, checkpoint, args, embeddings_out=out)
        ours = np.array(json.loads(out.read_text()), dtype=np.float32)
        diff = float(np.abs(ours - reference).max()) if ours.shape == reference.shape else float("inf")
        log(f"{name}: class embeddings {ours.shape}, max abs difference to transformers {diff:.2e}")
        if not diff <= TOLERANCE:
            sys.exit(f"{name}: class embeddings differ from transformers' by {diff} (> {TOLERANCE})")

    samples = {f"torch_{b}": [] for b in batches}
    samples.update({name: [] for name in binaries})
    foreign = []
    jobs = list(samples)
    for r in range(args.rounds):
        load = ForeignLoad().start()
        order = jobs[r % len(jobs):] + jobs[:r % len(jobs)]
        for job in order:
            if job.startswith("torch_"):
                start = time.perf_counter()
                torch_side.classifier(class_names, templates, int(job[6:]))
                samples[job].append((time.perf_counter() - start) * 1000)
            else:
                samples[job].append(float(run_zeroshot(binaries[job], checkpoint, args)["ensemble_ms"]))
            log(f"round {r + 1}: {job} {samples[job][-1]:.0f} ms")
            time.sleep(1)
        foreign.append(load.stop())

    medians = {k: statistics.median(v) for k, v in samples.items()}
    best_torch = min((k for k in medians if k.startswith("torch_")), key=medians.get)
    reference_ms = medians[best_torch]
    info = machine_info(args.threads)
    way = "per-class batches" if best_torch == "torch_0" else f"batches of {best_torch[6:]}"
    lines = [f"{checkpoint.name}, {len(class_names)} classes x {len(templates)} templates = {prompts} prompts, "
             f"{args.threads} threads, {args.rounds} rounds",
             f"CPU: {info['cpu']}, {info['date']}",
             "", "| engine | ms (median) | per prompt ms | ratio to transformers | target |", "|---|---:|---:|---:|---|"]
    for k in samples:
        label = ("transformers, per-class batches of %d" % len(templates) if k == "torch_0"
                 else f"transformers, batches of {k[6:]}" if k.startswith("torch_") else k)
        ratio = medians[k] / reference_ms
        target = "" if k.startswith("torch_") else ("PASS" if ratio <= TARGET else "FAIL") + f" (<= {TARGET})"
        lines.append(f"| {label} | {medians[k]:.0f} | {medians[k] / prompts:.3f} | {ratio:.3f} | {target} |")
    known = [f for f in foreign if f is not None]
    lines += ["", f"reference: transformers in {way}; other processes took "
              f"{100 * statistics.median(known):.0f}% of the CPU (median over rounds)" if known else ""]
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps({"samples": samples, "medians": medians, "reference": best_torch,
                                               "prompts": prompts, "foreign_load": foreign, "machine": info,
                                               "checkpoint": str(checkpoint)}, indent=1))


if __name__ == "__main__":
    main()
