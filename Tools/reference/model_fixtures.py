"""Tiny random-weight CLIP checkpoints in Hugging Face layout, with golden outputs from transformers.

Writes Tests/Fixtures/models/<name>/ (config.json, model.safetensors or shards + index, tokenizer files,
preprocessor_config.json: a complete model directory as `save_pretrained` lays it out) and
Tests/Fixtures/models/golden/<name>.json + <name>.pixel_values.f32 (little-endian float32, `[batch, 3, S, S]`).

The golden numbers are `CLIPModel(**inputs)` in float32: image_embeds, text_embeds (both L2-normalised) and
logits_per_image. Half-precision checkpoints are loaded with dtype=torch.float32, so the golden values are float32
math on the stored half weights. image_flops_per_image is torch's flop count (FlopCounterMode) of one image through
get_image_features; pooled_image_flops_per_image the same count when the last layer runs only what the pooled
class token needs (as zeroshot does), checked to give the same embedding.

Re-run with `python Tools/reference/model_fixtures.py`; seeds are fixed.
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_vocab  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "models")
N_MERGES = 1000

TEXTS = [
    "a photo of a cat.",
    "This is a photo of a tabby cat.",
    "dog",
    "a blurry photo of the Golden Gate Bridge at night, taken with a phone",
    "",
    "It's a photo of 2 dogs & 3 cats!",
    # Longer than the 77-token context: the tokenizer truncates it to exactly max length (bos ... eos).
    "a very long caption " + " ".join(f"with word{i} and a rock" for i in range(30)),
]

CONFIGS = {
    # (a) patch 8, image 32, quick_gelu, F32, tokenizer.json only
    "tiny-p8-quickgelu": dict(
        text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4),
        vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                    image_size=32, patch_size=8),
        projection_dim=16, act="quick_gelu", dtype=torch.float32, tokenizer="json", seed=1,
    ),
    # (b) patch 16, image 48, gelu (erf), layer_norm_eps 1e-6, vocab.json + merges.txt only
    "tiny-p16-gelu": dict(
        text=dict(hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=2,
                  layer_norm_eps=1e-6),
        vision=dict(hidden_size=36, intermediate_size=72, num_hidden_layers=2, num_attention_heads=3,
                    image_size=48, patch_size=16, layer_norm_eps=1e-6),
        projection_dim=24, act="gelu", dtype=torch.float32, tokenizer="files", seed=2,
    ),
    # (c) legacy config like the early openai/clip-* ones: eos_token_id 2 (pooling at argmax of input_ids),
    #     `torch_dtype` instead of `dtype`, keys equal to the defaults left out; both tokenizer layouts.
    "tiny-legacy-eos": dict(
        text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                  bos_token_id=0, eos_token_id=2, pad_token_id=1),
        vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                    image_size=32, patch_size=16),
        projection_dim=32, act="quick_gelu", dtype=torch.float32, tokenizer="both", seed=3, legacy=True,
    ),
    # (d) F16 weights; image 36 with patch 8 leaves a 4-pixel remainder the patch convolution ignores
    "tiny-f16": dict(
        text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2),
        vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                    image_size=36, patch_size=8),
        projection_dim=16, act="gelu", dtype=torch.float16, tokenizer="json", seed=4,
    ),
    # (e) sharded F32 checkpoint: model.safetensors.index.json + several shards
    "tiny-sharded": dict(
        text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2),
        vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                    image_size=32, patch_size=8),
        projection_dim=16, act="quick_gelu", dtype=torch.float32, tokenizer="json", seed=5,
        max_shard_size="100KB",
    ),
    # (f) BF16 weights
    "tiny-bf16": dict(
        text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4),
        vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                    image_size=32, patch_size=16),
        projection_dim=16, act="quick_gelu", dtype=torch.bfloat16, tokenizer="json", seed=6,
    ),
}


def randomize(model, seed):
    """Default init, then non-trivial layer-norm and bias values so that every tensor matters."""
    g = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                p.fill_(math.log(100.0))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))


def write_tokenizer(directory, kind):
    src, size, tok = clip_vocab.save_tokenizer(directory, n_merges=N_MERGES)
    if kind in ("files", "both"):
        for fn in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(src, fn), os.path.join(directory, fn))
    if kind == "files":
        os.remove(os.path.join(directory, "tokenizer.json"))
    shutil.rmtree(src)
    return size, tok


def legacy_config(directory, spec):
    """Rewrites config.json like the early openai/clip-* configs: torch_dtype, defaults left out."""
    path = os.path.join(directory, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    keep_text = set(spec["text"]) | {"vocab_size"}
    keep_vision = set(spec["vision"])
    out = {
        "architectures": cfg["architectures"],
        "model_type": "clip",
        "projection_dim": cfg["projection_dim"],
        "logit_scale_init_value": 2.6592,
        "torch_dtype": "float32",
        "text_config": {k: v for k, v in cfg["text_config"].items() if k in keep_text},
        "vision_config": {k: v for k, v in cfg["vision_config"].items() if k in keep_vision},
        "transformers_version": cfg.get("transformers_version"),
    }
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


def pooled_image_flops(model, pixel_values):
    """torch's flop count of one image through the image tower when the last encoder layer runs only what the
    pooled class token needs: keys and values for every position, the query, attention, out projection and MLP
    for the class token alone. Checks that this gives get_image_features' embedding."""
    vision = model.vision_model
    with torch.no_grad(), FlopCounterMode(display=False) as flops:
        hidden = vision.pre_layrnorm(vision.embeddings(pixel_values))
        layers = vision.encoder.layers
        for layer in layers[:-1]:
            hidden = layer(hidden, None)
        if len(layers):
            last, attn = layers[-1], layers[-1].self_attn
            x = last.layer_norm1(hidden)
            heads = (hidden.shape[0], -1, attn.num_heads, attn.head_dim)
            q = attn.q_proj(x[:, :1]).view(heads).transpose(1, 2)
            k = attn.k_proj(x).view(heads).transpose(1, 2)
            v = attn.v_proj(x).view(heads).transpose(1, 2)
            context = torch.nn.functional.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2)
            cls = hidden[:, :1] + attn.out_proj(context)
            hidden = cls + last.mlp(last.layer_norm2(cls))
        embeds = model.visual_projection(vision.post_layernorm(hidden[:, 0]))
    with torch.no_grad():
        reference = model.get_image_features(pixel_values=pixel_values).pooler_output
    assert torch.allclose(embeds, reference, atol=1e-5), (embeds - reference).abs().max()
    return flops.get_total_flops()


def build(name, spec):
    directory = os.path.join(OUT, name)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    vocab_size, tok = write_tokenizer(directory, spec["tokenizer"])

    text = dict(spec["text"], vocab_size=vocab_size, max_position_embeddings=77, hidden_act=spec["act"])
    vision = dict(spec["vision"], hidden_act=spec["act"])
    if spec.get("legacy"):
        text.pop("hidden_act")  # default quick_gelu
        vision.pop("hidden_act")
    else:
        text.update(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=spec["projection_dim"])
    torch.manual_seed(spec["seed"])
    model = CLIPModel(config).eval()
    randomize(model, spec["seed"])
    model = model.to(spec["dtype"])
    model.config.dtype = spec["dtype"]
    kwargs = {"max_shard_size": spec["max_shard_size"]} if "max_shard_size" in spec else {}
    model.save_pretrained(directory, **kwargs)
    if spec.get("legacy"):
        legacy_config(directory, spec)

    size = spec["vision"]["image_size"]
    CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}).save_pretrained(
        directory
    )

    # Golden outputs, float32 math on the stored weights.
    ref = CLIPModel.from_pretrained(directory, dtype=torch.float32).eval()
    rng = np.random.default_rng(spec["seed"])
    batch = 3 if spec["seed"] % 2 else 2
    pixel_values = rng.normal(0.0, 1.0, size=(batch, 3, size, size)).astype(np.float32)
    inputs = tok(TEXTS, padding=True, truncation=True, max_length=77, return_tensors="pt")
    with torch.no_grad():
        out = ref(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                  pixel_values=torch.from_numpy(pixel_values))
    ids = [row[: int(m.sum())].tolist() for row, m in zip(inputs["input_ids"], inputs["attention_mask"])]
    assert max(len(r) for r in ids) == 77
    # Floating-point operations of one image through get_image_features, as torch's flop counter sees them
    # (convolution, matrix products, scaled dot-product attention; 2 per multiply-add).
    with torch.no_grad(), FlopCounterMode(display=False) as flops:
        ref.get_image_features(pixel_values=torch.from_numpy(pixel_values[:1]))

    gdir = os.path.join(OUT, "golden")
    os.makedirs(gdir, exist_ok=True)
    pixel_values.astype("<f4").tofile(os.path.join(gdir, f"{name}.pixel_values.f32"))
    golden = {
        "checkpoint": name,
        "pixel_values_file": f"{name}.pixel_values.f32",
        "pixel_values_shape": list(pixel_values.shape),
        "texts": TEXTS,
        "input_ids": ids,
        "logit_scale": float(ref.logit_scale.item()),
        "image_embeds": out.image_embeds.tolist(),
        "text_embeds": out.text_embeds.tolist(),
        "logits_per_image": out.logits_per_image.tolist(),
        "image_flops_per_image": flops.get_total_flops(),
        "pooled_image_flops_per_image": pooled_image_flops(ref, torch.from_numpy(pixel_values[:1])),
    }
    with open(os.path.join(gdir, f"{name}.json"), "w") as f:
        json.dump(golden, f)
    print(name, "ok", sorted(os.listdir(directory)))


def main():
    torch.use_deterministic_algorithms(True)
    for name, spec in CONFIGS.items():
        build(name, spec)


if __name__ == "__main__":
    main()
