"""Golden outputs of the zero-shot-image-classification pipeline when preprocessor_config.json does not give every
image the vision model's size: no center crop, no resize, a crop size other than the model's, size forms the
resize cannot use.

For each case, the tiny checkpoint tiny-p8-quickgelu (vision image_size 32) is copied with its
preprocessor_config.json replaced (the case's `config`, written into the golden file), loaded with
`CLIPImageProcessorPil.from_pretrained` and `pipeline(...)`, and every image of Tests/Fixtures/pipeline/images is
classified on its own. Per image the golden file holds the pipeline's scores, or the error it raised and its kind:
`sizeMismatch` when CLIPVisionEmbeddings rejects pixel_values that are not 32 x 32 ("Input image size (H*W) doesn't
match model (32*32)."), or the image processor's (see preprocess_fixtures.py).

Writes Tests/Fixtures/pipeline/preprocess/cases.json.
Run: python Tools/reference/preprocess_pipeline_fixtures.py   (after model_fixtures.py and pipeline_fixtures.py)
"""
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
import transformers
from transformers import CLIPImageProcessorPil, pipeline

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "Tests" / "Fixtures" / "models" / "tiny-p8-quickgelu"
IMAGES = ROOT / "Tests" / "Fixtures" / "pipeline" / "images"
OUT = ROOT / "Tests" / "Fixtures" / "pipeline" / "preprocess"

LABELS = ["cat", "rocket", "cup of coffee"]
TEMPLATE = "This is a photo of {}."

CASES = [
    # The bug report: no center crop; only images that resize to 32 x 32 (the square ones) are classified.
    ("no_center_crop_shortest_edge", {"do_center_crop": False, "size": {"shortest_edge": 32}}),
    ("no_center_crop_int_size", {"do_center_crop": False, "size": 32}),
    # A fixed 32 x 32 resize needs no crop: every image is classified.
    ("no_center_crop_height_width", {"do_center_crop": False, "size": {"height": 32, "width": 32}}),
    ("no_center_crop_shortest_longest", {"do_center_crop": False, "size": {"shortest_edge": 32, "longest_edge": 32}}),
    ("no_center_crop_max_height_width", {"do_center_crop": False, "size": {"max_height": 32, "max_width": 32}}),
    # No resize: only a 32 x 32 image fits without a crop; with a 32 x 32 crop every image does (cut or padded).
    ("no_resize_no_crop", {"do_resize": False, "do_center_crop": False}),
    ("no_resize_crop", {"do_resize": False, "crop_size": {"height": 32, "width": 32}}),
    # Loaded by transformers, but every image fails.
    ("crop_not_model_size", {"size": {"shortest_edge": 40}, "crop_size": {"height": 40, "width": 40}}),
    ("longest_edge_only", {"do_center_crop": False, "size": {"longest_edge": 32}}),
    # Values outside size/crop: padded to the model's size after a smaller crop (every image classified); values
    # read as Python reads them (a string resample is BILINEAR, one number for all channels, numeric strings, flags
    # by truth value); values every image fails with.
    ("pad_to_model_size", {"size": {"shortest_edge": 24}, "crop_size": {"height": 24, "width": 24}, "do_pad": True,
                           "pad_size": {"height": 32, "width": 32}}),
    ("values_read_as_python", {"resample": "bicubic", "image_mean": 0.5, "image_std": ["0.25", 0.5, True],
                               "rescale_factor": [0.00392156862745098], "do_convert_rgb": None, "do_normalize": 1}),
    ("unknown_resample", {"resample": 8}),
    ("mean_of_two_values", {"image_mean": [0.5, 0.5]}),
]


def kind(error):
    text = str(error)
    if text.startswith("Input image size"):
        return "sizeMismatch"
    if text.startswith("Size must contain"):
        return "notResizable"
    if text == "height and width must be > 0":
        return "emptyResize"
    if text.startswith("Unknown resampling filter"):
        return "unusableValue:resample"
    if text.startswith("mean must have") or text.startswith("std must have"):
        return "unusableValue:image_" + text.split(" ")[0]
    raise error


def main():
    torch.manual_seed(0)
    base = json.loads((MODEL / "preprocessor_config.json").read_text())
    names = sorted(p.name for p in IMAGES.iterdir())
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        shutil.copytree(MODEL, model_dir)
        for name, overrides in CASES:
            config = dict(base, **overrides)
            (model_dir / "preprocessor_config.json").write_text(json.dumps(config, indent=2))
            processor = CLIPImageProcessorPil.from_pretrained(model_dir)
            classifier = pipeline("zero-shot-image-classification", model=str(model_dir), image_processor=processor,
                                  device="cpu", dtype=torch.float32)
            results = []
            for image in names:
                try:
                    out = classifier(str(IMAGES / image), candidate_labels=LABELS, hypothesis_template=TEMPLATE)
                    results.append({"image": image,
                                    "predictions": [{"label": r["label"], "score": r["score"]} for r in out]})
                except ValueError as e:
                    results.append({"image": image, "error": kind(e), "message": str(e)[:120]})
            cases.append({"case": name, "config": json.dumps(config, sort_keys=True), "results": results})
            ok = sum("predictions" in r for r in results)
            print(f"{name}: {ok} classified, {len(results) - ok} failed", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    golden = {"generator": "Tools/reference/preprocess_pipeline_fixtures.py", "transformers": transformers.__version__,
              "model": MODEL.name, "labels": LABELS, "template": TEMPLATE, "cases": cases}
    (OUT / "cases.json").write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
