"""Golden outputs of transformers' zero-shot-image-classification pipeline for the tiny test checkpoints.

Writes Tests/Fixtures/pipeline/images/* (small real photos from scikit-image and foolbox, in several formats and
orientations) and Tests/Fixtures/pipeline/<checkpoint>.json with, for every image and label set, the pipeline's
predictions (score per label, sorted as the pipeline sorts them), logits_per_image, and the L2-normalised image
embedding of the whole path file -> load_image -> CLIPImageProcessor -> CLIPModel.

Also writes Examples/images/* (the photos the README's examples classify).

Run: python Tools/reference/pipeline_fixtures.py   (after model_fixtures.py)
"""
import io
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import CLIPImageProcessorPil, CLIPModel, CLIPTokenizer, pipeline
from transformers.image_utils import load_image

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Fixtures" / "pipeline"
MODELS = ROOT / "Tests" / "Fixtures" / "models"
EXAMPLES = ROOT / "Examples" / "images"
SITE = Path(np.__file__).resolve().parents[1]
SKIMAGE = SITE / "skimage" / "data"
FOOLBOX = SITE / "foolbox" / "data"


def make_images():
    images = OUT / "images"
    if images.exists():
        shutil.rmtree(images)
    images.mkdir(parents=True)
    EXAMPLES.mkdir(parents=True, exist_ok=True)

    chelsea = Image.open(SKIMAGE / "chelsea.png").convert("RGB")  # 451x300, a cat
    chelsea.save(images / "chelsea.jpg", quality=90)
    chelsea.save(EXAMPLES / "cat.jpg", quality=90)
    shutil.copy(SKIMAGE / "rocket.jpg", EXAMPLES / "rocket.jpg")
    rocket = Image.open(SKIMAGE / "rocket.jpg")
    rocket.resize((rocket.width // 2, rocket.height // 2), Image.BICUBIC).save(images / "rocket.jpg", quality=88)

    coffee = Image.open(SKIMAGE / "coffee.png").convert("RGB")  # 600x400
    coffee.resize((300, 200), Image.BICUBIC).save(images / "coffee.webp", quality=85)
    coffee.resize((211, 141), Image.BICUBIC).save(images / "coffee_small.png")

    # Stored sideways with EXIF orientation 6 (rotate 90° clockwise to display); load_image turns it upright.
    astronaut = Image.open(SKIMAGE / "astronaut.png").convert("RGB").resize((160, 160), Image.BICUBIC)
    astronaut = astronaut.crop((0, 0, 160, 120))
    exif = Image.Exif()
    exif[0x0112] = 6
    astronaut.transpose(Image.Transpose.ROTATE_90).save(images / "astronaut_exif6.jpg", quality=90, exif=exif.tobytes())

    camera = Image.open(SKIMAGE / "camera.png")  # grayscale 512x512
    camera.resize((190, 170), Image.BICUBIC).save(images / "camera_gray.png")
    camera.resize((190, 170), Image.BICUBIC).save(images / "camera_gray.jpg", quality=85)

    shutil.copy(FOOLBOX / "imagenet_00_243.jpg", images / "imagenet_00_243.jpg")
    shutil.copy(FOOLBOX / "cifar10_00_3.png", images / "cifar10_00_3.png")
    return sorted(p.name for p in images.iterdir())


LABEL_SETS = [
    (["cat", "dog", "rocket", "cup of coffee"], "This is a photo of {}."),
    (["a photo of an astronaut", "a grayscale photo", "Café au lait", "東京の夜景", "🙂 a smiling face"], "{}"),
    (["cat", "cat", "dog"], "a blurry photo of a {}."),
    (["sky"], "This is a photo of {}."),
]


def reference_engines(model_dir):
    """The pipeline with the PIL image processor in float32 (F16/BF16 weights computed in float32, as zeroshot
    computes), and the model and tokenizer behind it."""
    # The reference preprocessing is the PIL backend; transformers 5 picks a torchvision backend by default
    # when torchvision is installed, which resamples differently.
    processor = CLIPImageProcessorPil.from_pretrained(model_dir)
    classifier = pipeline("zero-shot-image-classification", model=str(model_dir), image_processor=processor,
                          device="cpu", dtype=torch.float32)
    assert type(classifier.image_processor).__name__ == "CLIPImageProcessorPil"
    model = CLIPModel.from_pretrained(model_dir, dtype=torch.float32).eval()
    tokenizer = CLIPTokenizer.from_pretrained(model_dir)
    return processor, classifier, model, tokenizer


def classify(engines, path, pixel_values, labels, template):
    """The pipeline's predictions for one image and label set, the hypothesis texts and logits_per_image."""
    _, classifier, model, tokenizer = engines
    result = classifier(path, candidate_labels=labels, hypothesis_template=template)
    sequences = [template.format(x) for x in labels]
    text_inputs = tokenizer(sequences, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**text_inputs, pixel_values=pixel_values).logits_per_image[0].tolist()
    return result, sequences, logits


def main():
    torch.manual_seed(0)
    names = make_images()
    clip_dirs = (p for p in MODELS.iterdir() if (p / "preprocessor_config.json").exists()
                 and json.loads((p / "config.json").read_text())["model_type"] == "clip")
    for model_dir in sorted(clip_dirs):
        engines = reference_engines(model_dir)
        processor, _, model, _ = engines
        cases = []
        embeddings = {}
        for name in names:
            path = str(OUT / "images" / name)
            image = load_image(path)
            pixel_values = processor(images=[image], return_tensors="pt")["pixel_values"]
            with torch.no_grad():
                image_embeds = model.get_image_features(pixel_values=pixel_values)
                image_embeds = getattr(image_embeds, "pooler_output", image_embeds)
                image_embeds = image_embeds / image_embeds.norm(dim=-1, keepdim=True)
            embeddings[name] = image_embeds[0].tolist()
            for labels, template in LABEL_SETS:
                result, _, logits = classify(engines, path, pixel_values, labels, template)
                cases.append({
                    "image": name,
                    "labels": labels,
                    "template": template,
                    "predictions": [{"label": r["label"], "score": r["score"]} for r in result],
                    "logits": logits,
                })
        out = {"model": model_dir.name, "image_embeddings": embeddings, "cases": cases}
        (OUT / f"{model_dir.name}.json").write_text(json.dumps(out, ensure_ascii=False, indent=1))
        print(f"{model_dir.name}: {len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
