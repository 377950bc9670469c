"""Golden outputs of `zeroshot eval` on small labelled datasets made of foolbox's samples.

Builds Tests/Fixtures/eval/ from the samples foolbox ships (site-packages/foolbox/data, 20 each of ImageNet,
CIFAR-10, CIFAR-100, MNIST and Fashion-MNIST; the label is the last number of the file name:
cifar100_00_49.png is label 49), in both dataset layouts:
- cifar10/        ImageFolder, folders 00..09 (class index order; classes 2 and 4 have no sample, their folders
                  hold only a hidden .gitkeep), with --classnames cifar10 --templates openai-cifar;
- fashion-mnist/  ImageFolder, folders named by class ("Ankle boot", "T-shirt or top", ...; classes in sorted()
                  order), no --classnames, --templates fashion_templates.txt;
- cifar100.jsonl  JSONL manifest, integer labels, --classnames cifar100 --templates simple;
- imagenet.csv    CSV manifest with a header row, integer labels, --classnames imagenet --templates simple
                  (8 of the 20 ImageNet samples, the smallest files, to keep the fixtures small);
- mnist.csv       CSV manifest without header, integer labels, no --classnames (classes "0".."9"), the default
                  hypothesis template "This is a photo of {}.".

For every dataset and fixture checkpoint (CLIP, SigLIP, Chinese-CLIP), with transformers in float32:
- the dataset in torchvision ImageFolder's order (find_classes: sorted sub-folder names; make_dataset:
  sorted(os.walk(...)), sorted file names), or the manifest's line order;
- the classifier: per class, the text embeddings (get_text_features) of its filled templates, each L2-normalised,
  averaged, L2-normalised again (open_clip's build_zero_shot_classifier; prompts tokenized as the
  zero-shot-image-classification pipeline does, as Tools/reference/ensemble_fixtures.py); one template gives the
  pipeline's text embeddings;
- images: load_image -> the checkpoint's PIL image processor -> get_image_features, L2-normalised;
- logits_per_image = exp(logit_scale) * image . class (+ logit_bias for SigLIP), scores softmax (CLIP,
  Chinese-CLIP) or sigmoid (SigLIP), top-5 by logit (stable: ties keep the lower class index first);
- confusion (sklearn.metrics.confusion_matrix), per-class precision/recall (precision_recall_fscore_support,
  zero_division=0), balanced_accuracy_score as mean_per_class_recall, top-1 and top-5 accuracy.
Each golden also records the smallest logit gap between consecutive ranks 1..6 over its images, so that a
comparison at 1e-4 decides the same top-5 (the script fails when a gap is below 1e-3).

Writes Tests/Fixtures/eval/<dataset>... and Tests/Fixtures/eval/golden/<checkpoint>.<dataset>.json.

Run: /work/venv/bin/python Tools/reference/eval_fixtures.py   (after prompt_sets.py and model_fixtures.py)
"""
import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, precision_recall_fscore_support
from transformers.image_utils import load_image

from ensemble_fixtures import built_in_sets, features, reference_pipeline

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Fixtures" / "eval"
MODELS = ROOT / "Tests" / "Fixtures" / "models"
FOOLBOX = Path(np.__file__).resolve().parents[1] / "foolbox" / "data"

# siglip-p16-mask-f16 rather than siglip-p8-nomask: the latter's random weights leave top-6 logits within 1e-3 of
# each other on cifar10 and fashion-mnist with every template set tried.
CHECKPOINTS = ["tiny-p8-quickgelu", "siglip-p16-mask-f16", "chinese-clip-crop"]
FASHION = ["T-shirt or top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FASHION_TEMPLATES = ["a photo of a {}.", "a blurry photo of a {}.", "a black and white photo of a {}."]
IMAGENET_COUNT = 8
# Tried in order when a dataset's own template set leaves two of its top-6 logits within 1e-3.
ALTERNATIVE_TEMPLATES = ["simple", "openai-cifar", None]
DEFAULT_TEMPLATE = "This is a photo of {}."
# dataset argument (relative to OUT), --classnames, --templates (None: the default template)
DATASETS = [
    ("cifar10", "cifar10", "openai-cifar"),
    ("fashion-mnist", None, "fashion_templates.txt"),
    ("cifar100.jsonl", "cifar100", "simple"),
    ("imagenet.csv", "imagenet", "simple"),
    ("mnist.csv", None, None),
]
# The Chinese-CLIP fixture's vocabulary (699 tokens) has no English words: every English prompt is the same run of
# [UNK]s and every logit equal. Its datasets get display names made of characters that are in the vocabulary
# (--classnames FILE; they are tokens, not translations) and a Chinese template.
ZH_TEMPLATES = ["一张{}的照片。", "{}的照片。"]
CIFAR10_ZH = ["航天", "機", "鵬", "猫", "豹", "狗", "苗", "驚", "舟", "運"]
FASHION_ZH = ["蕲", "杯", "表", "绮", "绣", "踝", "衝", "跻", "織", "篷"]  # sorted folder order: Ankle boot, Bag, ...
CHINESE_DATASETS = [
    ("cifar10", "cifar10_zh.txt", "zh_templates.txt"),
    ("fashion-mnist", "fashion_zh.txt", "zh_templates.txt"),
]


def display_names(names):
    """`zeroshot eval`'s display names of a built-in set: a repeated name's later occurrences as "name (#index)"
    (OpenAI's ImageNet names repeat "missile" and "sunglasses"); the prompts keep the names as shipped."""
    seen, out = set(), []
    for i, name in enumerate(names):
        out.append(f"{name} (#{i})" if name in seen else name)
        seen.add(name)
    return out


def samples(prefix):
    """(file name, label) of foolbox's samples of one dataset, in file-name order."""
    out = []
    for path in sorted(FOOLBOX.glob(prefix + "_*")):
        label = int(path.stem.split("_")[-1])
        out.append((path.name, label))
    return out


def build_datasets():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    # cifar10: ImageFolder 00..09.
    for k in range(10):
        (OUT / "cifar10" / f"{k:02d}").mkdir(parents=True)
        (OUT / "cifar10" / f"{k:02d}" / ".gitkeep").write_text("")
    for name, label in samples("cifar10"):
        shutil.copy(FOOLBOX / name, OUT / "cifar10" / f"{label:02d}" / name)
    # fashion-mnist: ImageFolder named by class.
    for name, label in samples("fashionMNIST"):
        folder = OUT / "fashion-mnist" / FASHION[label]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(FOOLBOX / name, folder / name)
    (OUT / "fashion_templates.txt").write_text("\n".join(FASHION_TEMPLATES) + "\n")
    (OUT / "zh_templates.txt").write_text("\n".join(ZH_TEMPLATES) + "\n")
    (OUT / "cifar10_zh.txt").write_text("\n".join(CIFAR10_ZH) + "\n")
    (OUT / "fashion_zh.txt").write_text("\n".join(FASHION_ZH) + "\n")
    # cifar100: JSONL with integer labels.
    (OUT / "cifar100").mkdir()
    with open(OUT / "cifar100.jsonl", "w") as f:
        for name, label in samples("cifar100"):
            shutil.copy(FOOLBOX / name, OUT / "cifar100" / name)
            f.write(json.dumps({"path": "cifar100/" + name, "label": label}) + "\n")
    # imagenet: CSV with header, integer labels; the smallest files.
    (OUT / "imagenet").mkdir()
    chosen = sorted(samples("imagenet"), key=lambda s: (FOOLBOX / s[0]).stat().st_size)[:IMAGENET_COUNT]
    with open(OUT / "imagenet.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["path", "label"])
        for name, label in sorted(chosen):
            shutil.copy(FOOLBOX / name, OUT / "imagenet" / name)
            w.writerow(["imagenet/" + name, label])
    # mnist: CSV without header, integer labels.
    (OUT / "mnist").mkdir()
    with open(OUT / "mnist.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        for name, label in samples("mnist"):
            shutil.copy(FOOLBOX / name, OUT / "mnist" / name)
            w.writerow(["mnist/" + name, label])


def image_folder(root):
    """torchvision.datasets.ImageFolder's classes and samples (find_classes, make_dataset), as written there."""
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    items = []
    for index, target in enumerate(classes):
        for folder, _, names in sorted(os.walk(os.path.join(root, target), followlinks=True)):
            for name in sorted(names):
                if name.lower().endswith((".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")):
                    path = os.path.join(folder, name)
                    items.append((os.path.relpath(path, root), path, index))
    return classes, items


def manifest(path):
    """(classes, [(path as written, file, class index)]) of a manifest with integer labels."""
    rows = []
    if path.suffix == ".jsonl":
        for line in path.read_text().splitlines():
            if line.strip():
                obj = json.loads(line)
                rows.append((obj["path"], obj["label"]))
    else:
        with open(path, newline="") as f:
            records = [r for r in csv.reader(f) if r]
        if records and records[0] == ["path", "label"]:
            records = records[1:]
        rows = [(p, int(label)) for p, label in records]
    count = max(label for _, label in rows) + 1
    return [str(k) for k in range(count)], [(p, str(path.parent / p), label) for p, label in rows]


def evaluate(model, tokenizer, pipe, kwargs, siglip, scale, sets, names, items, template_set):
    """Logits, scores, top-5 and metrics of one dataset with one template set (None: the default template)."""
    if template_set is None:
        templates = [DEFAULT_TEMPLATE]
    elif template_set in sets:
        templates = sets[template_set]
    else:
        templates = [t for t in (OUT / template_set).read_text().splitlines() if t.strip()]
    rows = []
    for name in names:  # open_clip's build_zero_shot_classifier, one class at a time
        tokens = tokenizer([t.format(name) for t in templates], return_tensors="pt", **kwargs)
        emb = features(model.get_text_features(**tokens))
        emb = emb / emb.norm(dim=-1, keepdim=True)
        mean = emb.mean(dim=0)
        rows.append(mean / mean.norm())
    classifier = torch.stack(rows)
    pixel_values = pipe.image_processor([load_image(f) for _, f, _ in items], return_tensors="pt")["pixel_values"]
    image_features = features(model.get_image_features(pixel_values=pixel_values.float()))
    image_features = image_features / image_features.norm(dim=-1, keepdim=True)
    logits = scale * image_features @ classifier.T
    if siglip:
        logits = logits + model.logit_bias
    scores = logits.sigmoid() if siglip else logits.softmax(dim=-1)
    y_true = [label for _, _, label in items]
    y_pred, top5_hits, images, min_gap = [], 0, [], float("inf")
    big = len(names) > 100
    for i, (image, _, label) in enumerate(items):
        ranking = [int(j) for j in torch.argsort(logits[i], descending=True, stable=True)]
        ordered = logits[i][ranking[:6]].tolist()
        min_gap = min([min_gap] + [a - b for a, b in zip(ordered, ordered[1:])])
        y_pred.append(ranking[0])
        top5_hits += label in ranking[:5]
        keep = sorted(set(ranking[:20]) | {label}) if big else range(len(names))
        images.append({
            "image": image, "true_class": label,
            "top5": ranking[:5], "top5_scores": scores[i][ranking[:5]].tolist(),
            "true_score": float(scores[i][label]),
            "logits": {str(k): float(logits[i][k]) for k in keep},
        })

    labels = list(range(len(names)))
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    precision, recall, _, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "template_list": templates, "min_top6_logit_gap": min_gap, "images": images,
        "n": len(items), "top1": float(np.mean(np.array(y_pred) == np.array(y_true))),
        "top5": top5_hits / len(items),
        "mean_per_class_recall": float(balanced_accuracy_score(y_true, y_pred)),
        "precision": precision.tolist(), "recall": recall.tolist(), "support": support.tolist(),
        # [true, predicted, count] of the non-zero cells (ImageNet's matrix is 1000 x 1000).
        "confusion": [[int(t), int(p), int(cm[t, p])] for t, p in zip(*np.nonzero(cm))],
    }


@torch.no_grad()
def main():
    sets = built_in_sets()
    build_datasets()
    (OUT / "golden").mkdir()
    for checkpoint in CHECKPOINTS:
        pipe, model, tokenizer, siglip, kwargs = reference_pipeline(MODELS / checkpoint)
        scale = model.logit_scale.exp()
        datasets = CHINESE_DATASETS if model.config.model_type == "chinese_clip" else DATASETS
        for dataset, classnames, template_set in datasets:
            path = OUT / dataset
            class_ids, items = image_folder(path) if path.is_dir() else manifest(path)
            names = class_ids
            if classnames:
                names = sets[classnames] if classnames in sets else (OUT / classnames).read_text().splitlines()
                if path.is_dir():
                    assert len(names) == len(class_ids)
                else:
                    class_ids = [str(k) for k in range(len(names))]
            # The dataset's template set, else the first alternative whose top-6 logit gaps are all > 1e-3 (random
            # tiny weights can put two classes' logits within a comparison's tolerance).
            for template_set in [template_set] + [t for t in ALTERNATIVE_TEMPLATES if t != template_set]:
                attempt = evaluate(model, tokenizer, pipe, kwargs, siglip, scale, sets, names, items, template_set)
                if attempt["min_top6_logit_gap"] > 1e-3:
                    break
                print(checkpoint, dataset, template_set, "min gap", attempt["min_top6_logit_gap"], "too small; next")
            if attempt["min_top6_logit_gap"] <= 1e-3:
                # E.g. SigLIP's fixture vocabulary has no digits: every MNIST prompt is the same text, every logit equal.
                print(checkpoint, dataset, "skipped: no template set separates the top-6 logits by 1e-3")
                continue
            golden = {"checkpoint": checkpoint, "dataset": dataset, "classnames": classnames, "templates": template_set,
                      "scoring": "sigmoid" if siglip else "softmax",
                      "classes": display_names(names) if classnames in sets else names, "class_ids": class_ids}
            golden.update(attempt)
            min_gap = golden["min_top6_logit_gap"]
            assert min_gap > 1e-3, (checkpoint, dataset, min_gap)
            out = OUT / "golden" / f"{checkpoint}.{dataset.split('.')[0]}.json"
            out.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
            print(checkpoint, dataset, "n", len(items), "top1", golden["top1"], "top5", golden["top5"],
                  "balanced", round(golden["mean_per_class_recall"], 4), "min gap", round(min_gap, 5))


if __name__ == "__main__":
    main()
