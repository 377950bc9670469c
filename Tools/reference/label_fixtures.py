"""Golden outputs of transformers' zero-shot-image-classification pipeline for candidate labels and templates
that look wrong but that the pipeline accepts, and for a checkpoint whose logit_scale overflows exp.

Writes Tests/Fixtures/labels.json:

- "cases": for every tiny checkpoint, one image and label sets with an empty label, whitespace-only labels
  (" ", "\t", the ideographic space "\u3000"), a zero-width space "\u200b" (not whitespace to the tokenizer),
  a single label, and a template without "{}" (every label the same text): the pipeline's predictions (sorted
  as it sorts them), logits_per_image in label order, and input_ids of every filled template.
- "overflow": tiny-p8-quickgelu with its logit_scale tensor set to 100.0 (exp(100) overflows float32) in a
  temporary copy: the pipeline's scores (NaN, written as null) and logits (+-inf, written as strings).

Run: python Tools/reference/label_fixtures.py   (after model_fixtures.py and pipeline_fixtures.py)
"""
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers.image_utils import load_image

from pipeline_fixtures import classify, reference_engines

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "Tests" / "Fixtures" / "models"
IMAGES = ROOT / "Tests" / "Fixtures" / "pipeline" / "images"
OUT = ROOT / "Tests" / "Fixtures" / "labels.json"
IMAGE = "chelsea.jpg"

LABEL_SETS = [
    (["cat", ""], "This is a photo of {}."),
    (["cat", " "], "This is a photo of {}."),
    (["cat", "\u200b"], "This is a photo of {}."),
    (["", " ", "\t", "\u3000", "\u200b", "dog"], "This is a photo of {}."),
    (["", " ", "\u200b", "dog"], "{}"),
    (["cat"], "This is a photo of {}."),
    (["cat", "dog", "rocket"], "a photo"),
    (["cat", "car", "dog"], "{[0]}"),
]

OVERFLOW_MODEL = "tiny-p8-quickgelu"
OVERFLOW_LOGIT_SCALE = 100.0


def number(x):
    """A float for JSON: NaN as null, infinities as "inf"/"-inf"."""
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def run_cases(model_dir, label_sets):
    engines = reference_engines(model_dir)
    processor, _, _, tokenizer = engines
    path = str(IMAGES / IMAGE)
    pixel_values = processor(images=[load_image(path)], return_tensors="pt")["pixel_values"]
    cases = []
    for labels, template in label_sets:
        result, sequences, logits = classify(engines, path, pixel_values, labels, template)
        cases.append({
            "model": model_dir.name,
            "image": IMAGE,
            "labels": labels,
            "template": template,
            "input_ids": [tokenizer(s)["input_ids"] for s in sequences],
            "predictions": [{"label": r["label"], "score": number(r["score"])} for r in result],
            "logits": [number(x) for x in logits],
        })
    return cases


def main():
    torch.manual_seed(0)
    cases = []
    clip_dirs = (p for p in MODELS.iterdir() if (p / "preprocessor_config.json").exists()
                 and json.loads((p / "config.json").read_text())["model_type"] == "clip")
    for model_dir in sorted(clip_dirs):
        cases += run_cases(model_dir, LABEL_SETS)
        print(f"{model_dir.name}: {len(LABEL_SETS)} cases", file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / OVERFLOW_MODEL
        shutil.copytree(MODELS / OVERFLOW_MODEL, copy)
        tensors = load_file(copy / "model.safetensors")
        tensors["logit_scale"] = torch.full_like(tensors["logit_scale"], OVERFLOW_LOGIT_SCALE)
        save_file(tensors, copy / "model.safetensors", metadata={"format": "pt"})
        overflow = run_cases(copy, [(["cat", "dog", "rocket"], "This is a photo of {}.")])
        assert all(p["score"] is None for p in overflow[0]["predictions"]), overflow

    out = {"cases": cases, "overflow": {"model": OVERFLOW_MODEL, "logit_scale": OVERFLOW_LOGIT_SCALE,
                                        "cases": overflow}}
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
