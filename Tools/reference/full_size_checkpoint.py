"""A full-size random-weight CLIP checkpoint shaped like openai/clip-vit-base-patch32, in Hugging Face layout.

Usage: python Tools/reference/full_size_checkpoint.py DIRECTORY [--seed N] [--golden DIR]

Writes config.json (transformers' default CLIPConfig = ViT-B/32, float32), model.safetensors (~600 MB),
the real 49,408-token CLIP vocabulary (vocab.json, merges.txt, tokenizer.json, tokenizer_config.json) and
openai's preprocessor_config.json (224 px, bicubic, CLIP mean/std). The weights are random (default init,
logit_scale = ln 100 as in the trained checkpoint); nothing here is committed.
With --golden DIR, also writes DIR/full-size.json + DIR/full-size.pixel_values.f32 in the format of
model_fixtures.py (transformers' outputs for 2 random pixel_values and a few texts) for a parity check.
"""
import argparse
import math
import os
import sys

import json

import numpy as np
import torch
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_vocab  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--golden", help="directory for golden outputs (not inside the model directory)")
    args = parser.parse_args()
    out = os.path.abspath(args.directory)
    os.makedirs(out, exist_ok=True)

    vocab_dir, vocab_size, tokenizer = clip_vocab.save_tokenizer(out)
    assert vocab_size == 49408, vocab_size
    for name in ("vocab.json", "merges.txt"):
        os.replace(os.path.join(vocab_dir, name), os.path.join(out, name))
    os.rmdir(vocab_dir)

    config = CLIPConfig()  # ViT-B/32 text and vision towers, projection 512
    config.text_config.bos_token_id = tokenizer.bos_token_id
    config.text_config.eos_token_id = tokenizer.eos_token_id
    config.text_config.pad_token_id = 1
    config.dtype = torch.float32
    torch.manual_seed(args.seed)
    model = CLIPModel(config).eval()
    with torch.no_grad():
        model.logit_scale.fill_(math.log(100.0))
    model.save_pretrained(out, max_shard_size="2GB")

    # openai/clip-vit-base-patch32's preprocessor_config.json values.
    CLIPImageProcessor(
        do_resize=True, size={"shortest_edge": 224}, resample=3, do_center_crop=True,
        crop_size={"height": 224, "width": 224}, do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
        image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
        do_convert_rgb=True,
    ).save_pretrained(out)
    print("wrote", out, sorted(os.listdir(out)))
    if args.golden:
        write_golden(out, args.golden, tokenizer)


def write_golden(model_dir, golden_dir, tokenizer):
    os.makedirs(golden_dir, exist_ok=True)
    texts = ["a photo of a cat.", "This is a photo of a dog.", "a diagram",
             "a photo of " + " ".join(["many"] * 80)]
    inputs = tokenizer(texts, padding=True, truncation=True, max_length=77, return_tensors="pt")
    pixel_values = np.random.default_rng(0).normal(size=(2, 3, 224, 224)).astype(np.float32)
    model = CLIPModel.from_pretrained(model_dir, dtype=torch.float32).eval()
    with torch.no_grad():
        o = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                  pixel_values=torch.from_numpy(pixel_values))
    pixel_values.astype("<f4").tofile(os.path.join(golden_dir, "full-size.pixel_values.f32"))
    ids = [r[: int(m.sum())].tolist() for r, m in zip(inputs["input_ids"], inputs["attention_mask"])]
    with open(os.path.join(golden_dir, "full-size.json"), "w") as f:
        json.dump({"checkpoint": "full-size", "pixel_values_file": "full-size.pixel_values.f32",
                   "pixel_values_shape": list(pixel_values.shape), "texts": texts, "input_ids": ids,
                   "logit_scale": float(model.logit_scale.item()), "image_embeds": o.image_embeds.tolist(),
                   "text_embeds": o.text_embeds.tolist(), "logits_per_image": o.logits_per_image.tolist()}, f)
    print("golden", golden_dir, "input_ids[0]", ids[0])


if __name__ == "__main__":
    main()
