"""Golden fixtures for the image processor classes' defaults (Tests/Fixtures/processor_classes.json).

A preprocessor_config.json that leaves keys out gets them from its image processor class: the one its
`image_processor_type` (or older `feature_extractor_type`) names, else the class of config.json's `model_type`.
Each case writes config.json (`model_type`) and preprocessor_config.json, loads them with
`AutoImageProcessor.from_pretrained(dir, backend="pil")`, and records the class it picked and, per image, the
pixel_values shape and FNV-1a 64 hash of their float32 bit patterns, or the kind of error transformers raises for
that image (named as zeroshot's ImagePreprocessingError), or the load error.

Run: python Tools/reference/processor_class_fixtures.py   (deterministic; rewrites the file)
"""
import json
import os
import shutil
import tempfile

import numpy as np
import PIL
import transformers
from PIL import Image
from transformers import AutoImageProcessor

from preprocess_fixtures import build_inputs, construct, error_kind, fnv1a64

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "processor_classes.json")

INPUTS = ["cifar_32x32", "coffee_77x53", "astronaut_tall_48x120"]

CASES = [
    # (name, model_type, preprocessor_config.json)
    ("clip_empty", "clip", {}),
    ("chinese_clip_empty", "chinese_clip", {}),
    ("siglip_empty", "siglip", {}),
    ("siglip_size_only", "siglip", {"size": {"height": 40, "width": 40}}),
    ("siglip_int_size", "siglip", {"size": 36}),
    ("siglip_shortest_edge", "siglip", {"size": {"shortest_edge": 30}}),
    ("siglip_crop_without_size", "siglip", {"do_center_crop": True}),
    ("siglip_crop_with_size", "siglip", {"do_center_crop": True, "crop_size": {"height": 20, "width": 24}}),
    ("siglip_bilinear_custom_mean", "siglip", {"resample": 2, "image_mean": [0.4, 0.5, 0.6]}),
    ("siglip_use_square_size_ignored", "siglip", {"use_square_size": True, "size": {"height": 28, "width": 28}}),
    ("siglip_as_saved", "siglip", {
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "SiglipImageProcessor", "image_std": [0.5, 0.5, 0.5], "processor_class":
        "SiglipProcessor", "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"height": 32, "width": 32}}),
    ("chinese_clip_as_ofa", "chinese_clip", {
        "crop_size": 28, "do_center_crop": False, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "ChineseCLIPFeatureExtractor", "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": {"height": 28, "width": 28}}),
    ("chinese_clip_shortest_edge", "chinese_clip", {"size": {"shortest_edge": 30}, "crop_size": {"height": 26, "width": 26}}),
    ("clip_type_in_siglip_repo", "siglip", {"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 30}}),
    ("siglip_type_in_clip_repo", "clip", {"image_processor_type": "SiglipImageProcessorFast"}),
    ("siglip_feature_extractor_type", "clip", {"feature_extractor_type": "SiglipFeatureExtractor"}),
    ("clip_use_square_size", "clip", {"use_square_size": True}),
]


def main():
    images = {name: construct(*pair) for name, pair in build_inputs().items()}
    entries = []
    for name, model_type, config in CASES:
        tmp = tempfile.mkdtemp()
        try:
            with open(os.path.join(tmp, "config.json"), "w") as f:
                json.dump({"model_type": model_type}, f)
            with open(os.path.join(tmp, "preprocessor_config.json"), "w") as f:
                json.dump(config, f)
            entry = {"case": name, "model_type": model_type, "config": json.dumps(config, sort_keys=True)}
            try:
                processor = AutoImageProcessor.from_pretrained(tmp, backend="pil")
            except (ValueError, IndexError) as e:
                entry["load_error"] = f"{type(e).__name__}: {e}"[:200]
                entries.append(entry)
                continue
            entry["class"] = type(processor).__name__
            results = []
            for input_name in INPUTS:
                try:
                    out = processor(Image.fromarray(images[input_name]), return_tensors="np")["pixel_values"][0]
                except (ValueError, AttributeError, TypeError) as e:
                    results.append({"input": input_name, "error": error_kind(e), "message": str(e)[:80]})
                    continue
                pv = np.asarray(out).astype(np.float32)
                results.append({"input": input_name, "shape": list(pv.shape), "fnv1a64": fnv1a64(pv)})
            entry["results"] = results
            entries.append(entry)
        finally:
            shutil.rmtree(tmp)
    with open(OUT, "w") as f:
        f.write('{"generator": "Tools/reference/processor_class_fixtures.py", '
                f'"transformers": "{transformers.__version__}", "pillow": "{PIL.__version__}", "cases": [\n')
        f.write(",\n".join(json.dumps(e, ensure_ascii=False) for e in entries))
        f.write("\n]}\n")
    print(f"{len(entries)} cases")


if __name__ == "__main__":
    main()
