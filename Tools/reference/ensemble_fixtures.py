"""Golden outputs of prompt ensembles (zero-shot classifiers averaged over templates) for the fixture checkpoints.

For each checkpoint and case (a class-name set x a template set, from the built-in sets that prompt_sets.py
extracts from open_clip_torch and clip_benchmark), computes with transformers:
- the ensemble text classifier by open_clip's build_zero_shot_classifier recipe on transformers'
  get_text_features: per class, L2-normalise the text embeddings of its filled templates, take the mean,
  L2-normalise again (prompts tokenized as the zero-shot-image-classification pipeline tokenizes them: padding=True,
  SigLIP padding="max_length", max_length=64, truncation=True);
- for each image (load_image -> the checkpoint's PIL image processor -> get_image_features, L2-normalised):
  logits = exp(logit_scale) * image . class (+ logit_bias for SigLIP), scores softmax (CLIP, Chinese-CLIP) or
  sigmoid (SigLIP).

Writes Tests/Fixtures/ensemble/images/* (foolbox samples: ImageNet, CIFAR-10, CIFAR-100) and
Tests/Fixtures/ensemble/<checkpoint>.json.

Run: python Tools/reference/ensemble_fixtures.py   (after prompt_sets.py and model_fixtures.py)
"""
import json
import re
import shutil
from pathlib import Path

import numpy as np
import torch
from transformers import AutoImageProcessor, pipeline
from transformers.image_utils import load_image

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Fixtures" / "ensemble"
MODELS = ROOT / "Tests" / "Fixtures" / "models"
FOOLBOX = Path(np.__file__).resolve().parents[1] / "foolbox" / "data"
SETS = ROOT / "Sources" / "ZeroShot" / "BuiltInPromptSets.swift"

CHECKPOINTS = ["tiny-p8-quickgelu", "tiny-p16-gelu", "siglip-p8-nomask", "chinese-clip-crop"]
FOOLBOX_IMAGES = ["imagenet_02_438.jpg", "cifar10_00_3.png", "cifar10_03_0.png", "cifar100_00_49.png"]
# (class-name set, how many of its names, template set)
CASES = [("cifar10", 10, "openai-cifar"), ("cifar100", 100, "simple"), ("imagenet", 100, "openai-imagenet")]


def built_in_sets():
    """The arrays of the generated Swift file, so the goldens use exactly the shipped data."""
    text = SETS.read_text()
    sets = {}
    for name, body in re.findall(r"static let (\w+): \[String\] = \[\n(.*?)\n    \]", text, re.S):
        sets[name] = [json.loads(line.strip().rstrip(",")) for line in body.split("\n")]
    return {
        "openai-imagenet": sets["openAIImageNetTemplates"], "openai-cifar": sets["openAICIFARTemplates"],
        "simple": sets["simpleTemplates"], "imagenet": sets["imageNetClassNames"],
        "cifar10": sets["cifar10ClassNames"], "cifar100": sets["cifar100ClassNames"],
    }


def features(output):
    return output if torch.is_tensor(output) else output.pooler_output


def reference_pipeline(model_dir):
    """The zero-shot pipeline of a checkpoint with its PIL image processor (CLIPImageProcessorPil and its siblings,
    the reference of the project) in float32; with the text padding of the family (SigLIP: max_length 64)."""
    processor = AutoImageProcessor.from_pretrained(model_dir, backend="pil")
    assert type(processor).__name__.endswith("ImageProcessorPil"), type(processor)
    pipe = pipeline("zero-shot-image-classification", model=str(model_dir), image_processor=processor,
                    dtype=torch.float32)
    model = pipe.model.eval()
    siglip = "siglip" in model.config.model_type
    kwargs = dict(padding="max_length", max_length=64, truncation=True) if siglip else dict(padding=True)
    return pipe, model, pipe.tokenizer, siglip, kwargs


@torch.no_grad()
def main():
    sets = built_in_sets()
    images_dir = OUT / "images"
    if images_dir.exists():
        shutil.rmtree(images_dir)
    images_dir.mkdir(parents=True)
    for name in FOOLBOX_IMAGES:
        shutil.copy(FOOLBOX / name, images_dir / name)
    images = [("ensemble/images/" + n, images_dir / n) for n in FOOLBOX_IMAGES]
    images.append(("../../Examples/images/cat.jpg", ROOT / "Examples" / "images" / "cat.jpg"))

    for checkpoint in CHECKPOINTS:
        pipe, model, tokenizer, siglip, kwargs = reference_pipeline(MODELS / checkpoint)
        pixel_values = pipe.image_processor([load_image(str(p)) for _, p in images], return_tensors="pt")["pixel_values"]
        image_features = features(model.get_image_features(pixel_values=pixel_values.float()))
        image_features = image_features / image_features.norm(dim=-1, keepdim=True)
        scale = model.logit_scale.exp()
        bias = model.logit_bias if siglip else None
        cases = []
        for class_set, count, template_set in CASES:
            class_names, templates = sets[class_set][:count], sets[template_set]
            rows = []
            for name in class_names:  # open_clip's build_zero_shot_classifier, one class at a time
                texts = [t.format(name) for t in templates]
                tokens = tokenizer(texts, return_tensors="pt", **kwargs)
                emb = features(model.get_text_features(**tokens))
                emb = emb / emb.norm(dim=-1, keepdim=True)
                mean = emb.mean(dim=0)
                rows.append(mean / mean.norm())
            classifier = torch.stack(rows)
            logits = scale * image_features @ classifier.T
            if bias is not None:
                logits = logits + bias
            scores = logits.sigmoid() if siglip else logits.softmax(dim=-1)
            cases.append({
                "class_names": class_set, "class_count": count, "templates": template_set,
                "prompts": count * len(templates),
                "class_embeddings": classifier.tolist() if count <= 10 else None,
                "images": [{
                    "image": rel,
                    "logits": logits[i].tolist(),
                    "scores": scores[i].tolist(),
                    "ranking": [int(j) for j in torch.argsort(logits[i], descending=True, stable=True)],
                } for i, (rel, _) in enumerate(images)],
            })
        golden = {"checkpoint": checkpoint, "scoring": "sigmoid" if siglip else "softmax", "cases": cases}
        (OUT / f"{checkpoint}.json").write_text(json.dumps(golden, indent=1) + "\n")
        print(checkpoint, [(c["class_names"], c["templates"], c["prompts"]) for c in cases])


if __name__ == "__main__":
    main()
