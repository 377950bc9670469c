"""A full-size random-weight Chinese-CLIP checkpoint shaped like OFA-Sys/chinese-clip-vit-base-patch16.

Usage: python Tools/reference/chinese_clip_full_size.py DIRECTORY [--seed N] [--golden DIR]

Writes config.json (ViT-B/16 image tower, RoBERTa-wwm-base text tower: 12 layers, hidden 768, vocabulary 21,128,
max_position_embeddings 512; projection 512; float32), model.safetensors (~750 MB, with the BERT pooler the
OFA-Sys checkpoints store), vocab.txt (cn-clip 1.6.0's), tokenizer_config.json and the OFA-Sys
preprocessor_config.json (224 x 224 squash, bicubic). Weights are random (layer norms and biases perturbed, text
encoder matrices at fan-in scale so that every token moves the [CLS] state; logit_scale = ln 100); nothing here
is committed.
With --golden DIR, also writes DIR/chinese-clip-full-size.json + .pixel_values.f32 in the format of
chinese_clip_fixtures.py (2 random pixel_values, a few texts up to 120 tokens) and transformers' time for one
image, for the texts and for ten labels in "一张{}的照片。" (best of 5, float32, this machine's threads).
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
from transformers import AutoTokenizer, ChineseCLIPConfig, ChineseCLIPModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chinese_clip_fixtures as fx  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--golden", help="directory for golden outputs (not inside the model directory)")
    args = parser.parse_args()
    out = os.path.abspath(args.directory)
    os.makedirs(out, exist_ok=True)
    shutil.copy(fx.VOCAB, os.path.join(out, "vocab.txt"))
    from pathlib import Path
    fx.write_tokenizer_config(Path(out), dict(do_lower_case=True))
    fx.write_preprocessor(Path(out), "ofa-sys", 224)

    config = ChineseCLIPConfig(
        text_config=dict(vocab_size=21128, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                         num_attention_heads=12, max_position_embeddings=512, type_vocab_size=2),
        vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                           image_size=224, patch_size=16, projection_dim=512),
        projection_dim=512,
    )
    torch.manual_seed(args.seed)
    model = ChineseCLIPModel(config).eval()
    fx.randomize(model, dict(seed=args.seed, logit_scale=math.log(100.0)))
    model.config.dtype = torch.float32
    model.save_pretrained(out)
    fx.add_pooler(Path(out), 768, torch.float32, args.seed)
    print("wrote", out, sorted(os.listdir(out)))
    if args.golden:
        write_golden(out, args.golden)


def best(fn, runs=5):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def write_golden(model_dir, golden_dir):
    os.makedirs(golden_dir, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(model_dir)
    texts = ["一张猫的照片。", "一张狗的照片。", "This is a photo of 火箭.",
             "一张" + "非常" * 55 + "长的照片。"]
    inputs = tok(texts, padding=True, return_tensors="pt")
    # Ten candidate labels through a Chinese template, as the pipeline batches them.
    labels = [f"一张{x}的照片。" for x in ["猫", "狗", "汽车", "飞机", "鸟", "马", "船", "卡车", "鹿", "青蛙"]]
    label_inputs = tok(labels, padding=True, return_tensors="pt")
    pixel_values = np.random.default_rng(0).normal(size=(2, 3, 224, 224)).astype(np.float32)
    model = ChineseCLIPModel.from_pretrained(model_dir, dtype=torch.float32).eval()
    with torch.no_grad():
        o = model(**inputs, pixel_values=torch.from_numpy(pixel_values))
        one = torch.from_numpy(pixel_values[:1])
        image_seconds = best(lambda: model.get_image_features(pixel_values=one))
        text_seconds = best(lambda: model.get_text_features(**inputs))
        labels_seconds = best(lambda: model.get_text_features(**label_inputs))
    name = "chinese-clip-full-size"
    pixel_values.astype("<f4").tofile(os.path.join(golden_dir, f"{name}.pixel_values.f32"))
    ids = [r[: int(m.sum())].tolist() for r, m in zip(inputs["input_ids"], inputs["attention_mask"])]
    with open(os.path.join(golden_dir, f"{name}.json"), "w") as f:
        json.dump({"checkpoint": name, "pixel_values_file": f"{name}.pixel_values.f32",
                   "pixel_values_shape": list(pixel_values.shape), "texts": texts, "input_ids": ids,
                   "logit_scale": float(model.logit_scale.item()), "image_embeds": o.image_embeds.tolist(),
                   "text_embeds": o.text_embeds.tolist(), "logits_per_image": o.logits_per_image.tolist(),
                   "transformers_image_seconds": image_seconds, "transformers_text_seconds": text_seconds,
                   "label_input_ids": [tok(x).input_ids for x in labels], "transformers_labels_seconds": labels_seconds,
                   "torch_threads": torch.get_num_threads()}, f, ensure_ascii=False)
    print("golden", golden_dir, "lengths", [len(r) for r in ids],
          f"transformers: 1 image {image_seconds:.3f} s, {len(texts)} texts {text_seconds:.3f} s, "
          f"{len(labels)} labels {labels_seconds:.3f} s")


if __name__ == "__main__":
    main()
