"""A full-size random-weight SigLIP checkpoint shaped like google/siglip-base-patch16-224, in Hugging Face layout.

Usage: python Tools/reference/siglip_full_size.py DIRECTORY [--seed N] [--golden DIR] [--time]

Writes config.json (transformers' default SiglipConfig = ViT-B/16 at 224 px, text vocab 32000, 64 positions,
float32), model.safetensors (~800 MB) and preprocessor_config.json (SiglipImageProcessor's defaults). The weights
are random (default init, logit_scale ln 112 and logit_bias -16.5, near the trained checkpoint's); no tokenizer
(the ids below are given); nothing here is committed.
With --golden DIR, also writes DIR/siglip-full-size.json + .pixel_values.f32 in the format of siglip_fixtures.py:
transformers' outputs for 2 random pixel_values and 4 rows of 64 ids (padded with </s> = 1), with and without the
attention mask. With --time, prints transformers' median time for one image through get_image_features and for
the 4 rows through get_text_features, without and with the mask (torch threads: all cores).
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
from transformers import SiglipConfig, SiglipImageProcessorPil, SiglipModel


def rows():
    rng = np.random.default_rng(1)
    lengths = [7, 12, 3, 64]
    ids = [list(rng.integers(3, 32000, size=n - 1)) + [1] for n in lengths]
    ids[3] = ids[3][:63] + [1]
    padded = [r + [1] * (64 - len(r)) for r in ids]
    mask = [[1] * len(r) + [0] * (64 - len(r)) for r in ids]
    return [[int(x) for x in r] for r in padded], mask


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--golden", help="directory for golden outputs (not inside the model directory)")
    parser.add_argument("--time", action="store_true")
    args = parser.parse_args()
    out = os.path.abspath(args.directory)
    os.makedirs(out, exist_ok=True)

    config = SiglipConfig()
    config.dtype = torch.float32
    torch.manual_seed(args.seed)
    model = SiglipModel(config).eval()
    with torch.no_grad():
        model.logit_scale.fill_(math.log(112.0))
        model.logit_bias.fill_(-16.5)
    model.save_pretrained(out, max_shard_size="2GB")
    SiglipImageProcessorPil().save_pretrained(out)
    print("wrote", out, sorted(os.listdir(out)))

    ref = SiglipModel.from_pretrained(out, dtype=torch.float32).eval()
    ids, mask = rows()
    pixel_values = np.random.default_rng(0).normal(size=(2, 3, 224, 224)).astype(np.float32)
    if args.golden:
        os.makedirs(args.golden, exist_ok=True)
        with torch.no_grad():
            o = ref(input_ids=torch.tensor(ids), pixel_values=torch.from_numpy(pixel_values))
            masked = ref.get_text_features(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).pooler_output
        masked = masked / masked.norm(dim=-1, keepdim=True)
        name = "siglip-full-size"
        pixel_values.astype("<f4").tofile(os.path.join(args.golden, f"{name}.pixel_values.f32"))
        with open(os.path.join(args.golden, f"{name}.json"), "w") as f:
            json.dump({"checkpoint": name, "pixel_values_file": f"{name}.pixel_values.f32",
                       "pixel_values_shape": list(pixel_values.shape), "input_ids": ids, "attention_mask": mask,
                       "logit_scale": float(ref.logit_scale.item()), "logit_bias": float(ref.logit_bias.item()),
                       "image_embeds": o.image_embeds.tolist(), "text_embeds": o.text_embeds.tolist(),
                       "masked_text_embeds": masked.tolist(), "logits_per_image": o.logits_per_image.tolist()}, f)
        print("golden", args.golden)
    if args.time:
        def median(fn, n=7):
            fn()
            times = []
            for _ in range(n):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            return sorted(times)[n // 2]
        one = torch.from_numpy(pixel_values[:1])
        with torch.no_grad():
            image = median(lambda: ref.get_image_features(pixel_values=one))
            text = median(lambda: ref.get_text_features(input_ids=torch.tensor(ids)))
            masked = median(lambda: ref.get_text_features(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)))
        print(f"transformers ({torch.get_num_threads()} threads): 1 image {image * 1e3:.1f} ms; "
              f"4 texts of 64 tokens {text * 1e3:.1f} ms, with their attention mask {masked * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
