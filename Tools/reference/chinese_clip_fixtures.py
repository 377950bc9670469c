"""Tiny random-weight Chinese-CLIP checkpoints in Hugging Face layout, with golden outputs from transformers.

Writes Tests/Fixtures/models/chinese-clip-<name>/ (config.json with model_type "chinese_clip", model.safetensors,
preprocessor_config.json, vocab.txt + tokenizer_config.json as the OFA-Sys/chinese-clip-vit-* repos ship them) and
Tests/Fixtures/models/golden/chinese-clip-<name>.json + chinese-clip-<name>.pixel_values.f32.

The tokenizer files: the real 21,128-token BERT Chinese vocabulary of PyPI cn-clip 1.6.0 (cn_clip/clip/vocab.txt)
for one checkpoint; for the others a subset of it (its first 106 entries, the specials and [unused*], kept at their
ids; every token the full vocabulary gives the test texts; a fixed sample of the rest; in the full vocabulary's
order), so that their word_embeddings stay small. WordPiece on a subset that keeps every token of the full
vocabulary's tokenization gives the same tokens, under other ids; characters outside the subset become [UNK].

Golden numbers, all from transformers 5.24 in float32 (half-precision weights loaded with dtype=torch.float32):
- input_ids: `tokenizer(text).input_ids` for every text (no padding, no truncation), with token_type_ids and
  attention_mask as the tokenizer gives them.
- pixel_values: `ChineseCLIPImageProcessorPil` (the PIL backend, pinned: transformers 5 picks a torchvision
  backend by default, which resamples differently) of load_image(path) for every image, little-endian float32
  `[images, 3, S, S]` in <name>.pixel_values.f32.
- image_embeds / text_embeds: get_image_features / get_text_features, L2-normalised; the texts run as one padded
  batch with its attention_mask (the script checks that each row alone, unpadded, gives the same embedding).
- logits_per_image: ChineseCLIPModel(input_ids, attention_mask, token_type_ids, pixel_values) over all images
  and texts.
- pipeline: pipeline(task="zero-shot-image-classification", dtype=torch.float32) with the PIL image processor, for
  every image and label set (Chinese labels with "一张{}的照片。", and the pipeline's default English template,
  which it applies to every model type): scores as the pipeline sorts them, plus the hypothesis texts' input_ids
  and logits_per_image.
- image_flops_per_image: torch's FlopCounterMode count of one image through get_image_features.
- unexpected_keys: what transformers reports as unexpected when it loads the checkpoint (the BERT pooler that
  the OFA-Sys checkpoints store and ChineseCLIPModel builds without: `add_pooling_layer=False`).

Re-run with `python Tools/reference/chinese_clip_fixtures.py`; seeds are fixed.
"""
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode
from safetensors.torch import load_file, save_file
from transformers import (
    AutoTokenizer,
    ChineseCLIPConfig,
    ChineseCLIPImageProcessor,
    ChineseCLIPImageProcessorPil,
    ChineseCLIPModel,
    pipeline,
)
from transformers.image_utils import load_image

import cn_clip

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "Tests" / "Fixtures" / "models"
GOLDEN = MODELS / "golden"
VOCAB = Path(cn_clip.__file__).resolve().parent / "clip" / "vocab.txt"

# Photos (scikit-image and foolbox, as pipeline_fixtures.py writes them; one EXIF-rotated, one grayscale) and a
# real ImageNet JPEG from the image fixtures.
IMAGES = [
    "pipeline/images/chelsea.jpg",
    "pipeline/images/rocket.jpg",
    "pipeline/images/coffee_small.png",
    "pipeline/images/astronaut_exif6.jpg",
    "pipeline/images/camera_gray.png",
    "images/jpeg_real_imagenet.jpg",
]

DEFAULT_TEMPLATE = "This is a photo of {}."  # the pipeline's hypothesis_template default
CHINESE_TEMPLATE = "一张{}的照片。"
LABEL_SETS = [
    (["猫", "狗", "火箭", "一杯咖啡"], CHINESE_TEMPLATE),
    (["cat", "dog", "rocket", "cup of coffee"], None),  # None: the pipeline's default template
    (["猫", "宇航员", "黑白照片", "夜景"], None),
    (["小猫", "小猫", "狗"], CHINESE_TEMPLATE),
    (["天空"], CHINESE_TEMPLATE),
]

# Texts for input_ids and text_embeds: the hypothesis texts above, then text that exercises the BERT
# normalizer and WordPiece (case, accents, full-width forms, CJK next to Latin, control and zero-width
# characters, punctuation, emoji, ## continuations, rare characters, the empty string).
EXTRA_TEXTS = [
    "",
    "猫",
    "iPhone 14 Pro拍摄的夜景，ISO 3200！",
    "Café NAÏVE résumé",
    "ＡＢＣ１２３ ｆｕｌｌ－ｗｉｄｔｈ",
    "東京の夜景 🙂",
    "unaffable tokenization",
    "\t 猫\n狗  \u3000火箭 ",
    "a\u0000b\u200bc\ufffdd",
    "龘靐齉 and 〇",
    "“引号”、《书名》……",
    "COVID-19疫苗接种点",
]


def hypothesis_texts():
    out = []
    for labels, template in LABEL_SETS:
        for label in labels:
            text = (template or DEFAULT_TEMPLATE).format(label)
            if text not in out:
                out.append(text)
    return out


TEXTS = hypothesis_texts() + [t for t in EXTRA_TEXTS if t not in hypothesis_texts()]

CONFIGS = {
    # (a) the full 21,128-token vocabulary, F16 weights; config.json, preprocessor_config.json and
    #     tokenizer_config.json laid out as the OFA-Sys repos ship them (squash to height x width, no center crop;
    #     torch_dtype; text_config_dict / vision_config_dict null); the unused BERT pooler stored.
    "chinese-clip-full-f16": dict(
        text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  max_position_embeddings=64),
        vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                    image_size=32, patch_size=8),
        projection_dim=16, dtype=torch.float16, vocab="full", pooler=True, preprocessor="ofa-sys",
        tokenizer=dict(do_lower_case=True), legacy=True, logit_scale=math.log(100.0), seed=11,
    ),
    # (b) vocabulary subset, F32; preprocessor_config.json as ChineseCLIPImageProcessor saves it (shortest edge +
    #     center crop); gelu vision tower, text eps 1e-6, three text heads; pooler stored.
    "chinese-clip-crop": dict(
        text=dict(hidden_size=24, intermediate_size=48, num_hidden_layers=3, num_attention_heads=3,
                  max_position_embeddings=48, layer_norm_eps=1e-6),
        vision=dict(hidden_size=36, intermediate_size=72, num_hidden_layers=2, num_attention_heads=3,
                    image_size=48, patch_size=16, hidden_act="gelu", layer_norm_eps=1e-6),
        projection_dim=24, dtype=torch.float32, vocab="subset", pooler=True, preprocessor="saved",
        tokenizer=dict(do_lower_case=True), logit_scale=2.6592, seed=12,
    ),
    # (c) vocabulary subset, F32; preprocessor_config.json names only the class and the sizes (the class
    #     defaults fill the rest: center crop, BICUBIC, OpenAI mean/std); image 36 with patch 8 leaves a 4-pixel
    #     remainder; text gelu_new, eps 1e-5; a cased tokenizer (do_lower_case false); no pooler stored.
    "chinese-clip-odd": dict(
        text=dict(hidden_size=32, intermediate_size=40, num_hidden_layers=1, num_attention_heads=2,
                  max_position_embeddings=40, layer_norm_eps=1e-5, hidden_act="gelu_new"),
        vision=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=4,
                    image_size=36, patch_size=8, layer_norm_eps=1e-5),
        projection_dim=32, dtype=torch.float32, vocab="subset", pooler=False, preprocessor="minimal",
        tokenizer=dict(do_lower_case=False), logit_scale=math.log(30.0), seed=13,
    ),
    # (d) vocabulary subset, F32; squash to height x width with BILINEAR; one attention head per tower, patch 4,
    #     three vision layers, logit_scale 0 (exp = 1: soft scores).
    "chinese-clip-squash": dict(
        text=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=1,
                  max_position_embeddings=40),
        vision=dict(hidden_size=16, intermediate_size=24, num_hidden_layers=3, num_attention_heads=1,
                    image_size=16, patch_size=4),
        projection_dim=8, dtype=torch.float32, vocab="subset", pooler=True, preprocessor="ofa-sys-bilinear",
        tokenizer=dict(do_lower_case=True), logit_scale=0.0, seed=14,
    ),
    # (e) num_hidden_layers 0 in both towers: the embeddings' [CLS] state (after the embedding LayerNorm) and the
    #     class token after pre_layrnorm go straight to the projections.
    "chinese-clip-no-layers": dict(
        text=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=0, num_attention_heads=2,
                  max_position_embeddings=40),
        vision=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=0, num_attention_heads=2,
                    image_size=16, patch_size=8),
        projection_dim=8, dtype=torch.float32, vocab="subset", pooler=False, preprocessor="ofa-sys",
        tokenizer=dict(do_lower_case=True), logit_scale=math.log(10.0), seed=15,
    ),
}


def full_vocab():
    # One token a line, split on "\n" only, as BertTokenizer's load_vocab reads it: some tokens hold characters
    # that str.splitlines() would also split at (U+0085, U+2028, ...).
    return VOCAB.read_text(encoding="utf-8").rstrip("\n").split("\n")


def write_vocab(directory, kind, seed):
    """vocab.txt: the full cn-clip vocabulary, or a subset that tokenizes the test texts alike."""
    vocab = full_vocab()
    if kind == "full":
        shutil.copy(VOCAB, directory / "vocab.txt")
        return len(vocab)
    scratch = directory / "_full"
    scratch.mkdir()
    shutil.copy(VOCAB, scratch / "vocab.txt")
    (scratch / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer"}))
    keep = set(range(106))  # [PAD], [unused1-99], [UNK], [CLS], [SEP], [MASK], <S>, <T>
    for lower in (True, False):
        tok = AutoTokenizer.from_pretrained(scratch, do_lower_case=lower)
        for text in TEXTS:
            keep.update(tok(text).input_ids)
    shutil.rmtree(scratch)
    rare = {vocab.index(c) for c in "龘靐齉" if c in vocab}
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(vocab), size=500, replace=False)
    keep.update(int(i) for i in sample if int(i) not in rare)
    keep -= rare  # characters outside the subset: [UNK]
    subset = [vocab[i] for i in sorted(keep)]
    (directory / "vocab.txt").write_text("\n".join(subset) + "\n", encoding="utf-8")
    return len(subset)


def write_tokenizer_config(directory, spec):
    """tokenizer_config.json as the OFA-Sys repos ship it (slow BertTokenizer; no tokenizer.json)."""
    cfg = {
        "cls_token": "[CLS]",
        "do_basic_tokenize": True,
        "do_lower_case": spec["do_lower_case"],
        "mask_token": "[MASK]",
        "model_max_length": 512,
        "never_split": None,
        "pad_token": "[PAD]",
        "sep_token": "[SEP]",
        "strip_accents": None,
        "tokenize_chinese_chars": True,
        "tokenizer_class": "BertTokenizer",
        "unk_token": "[UNK]",
    }
    if not spec["do_lower_case"]:
        del cfg["model_max_length"]  # the class default: no limit
    (directory / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    special = {"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]", "sep_token": "[SEP]",
               "unk_token": "[UNK]"}
    (directory / "special_tokens_map.json").write_text(json.dumps(special) + "\n")


def write_preprocessor(directory, kind, size):
    if kind in ("ofa-sys", "ofa-sys-bilinear"):
        # The OFA-Sys repos' preprocessor_config.json: squash to size x size (as cn_clip's own transform,
        # Resize((size, size), BICUBIC)), no center crop, written by the since-removed ChineseCLIPFeatureExtractor.
        cfg = {
            "crop_size": size,
            "do_center_crop": False,
            "do_normalize": True,
            "do_resize": True,
            "feature_extractor_type": "ChineseCLIPFeatureExtractor",
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711],
            "resample": 2 if kind == "ofa-sys-bilinear" else 3,
            "size": {"height": size, "width": size},
        }
        (directory / "preprocessor_config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    elif kind == "saved":
        ChineseCLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}) \
            .save_pretrained(directory)
    elif kind == "minimal":
        cfg = {"image_processor_type": "ChineseCLIPImageProcessor", "size": {"shortest_edge": size},
               "crop_size": {"height": size, "width": size}}
        (directory / "preprocessor_config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    else:
        raise ValueError(kind)


def randomize(model, spec):
    """Default init, then non-trivial layer-norm and bias values so that every tensor matters."""
    g = torch.Generator().manual_seed(spec["seed"] + 1000)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                p.fill_(spec["logit_scale"])
            elif ("norm" in name.lower()) and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif "token_type_embeddings" in name or "position_embedding" in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "word_embeddings" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif name.startswith("text_model.encoder") and p.dim() == 2:
                # BERT's init (std 0.02) leaves the [CLS] state nearly independent of the other tokens at these
                # widths; fan-in scaling makes every token and layer move the text embedding.
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))


def add_pooler(directory, hidden, dtype, seed):
    """Stores text_model.pooler.dense.{weight,bias} as the OFA-Sys checkpoints do."""
    path = directory / "model.safetensors"
    tensors = load_file(path)
    g = torch.Generator().manual_seed(seed + 2000)
    tensors["text_model.pooler.dense.weight"] = (0.1 * torch.randn(hidden, hidden, generator=g)).to(dtype)
    tensors["text_model.pooler.dense.bias"] = (0.1 * torch.randn(hidden, generator=g)).to(dtype)
    save_file(tensors, path, metadata={"format": "pt"})
    path.chmod(0o644)


def legacy_config(directory):
    """config.json as the OFA-Sys repos have it: torch_dtype, text_config_dict / vision_config_dict null."""
    path = directory / "config.json"
    cfg = json.loads(path.read_text())
    dtype = cfg.pop("dtype")
    out = {}
    for key, value in cfg.items():
        out[key] = value
        if key == "text_config":
            out["text_config_dict"] = None
        if key == "vision_config":
            out["vision_config_dict"] = None
    out["torch_dtype"] = dtype
    out["text_config"]["architectures"] = None
    out["text_config"]["chunk_size_feed_forward"] = 0
    out["text_config"]["position_embedding_type"] = "absolute"
    out["text_config"]["use_cache"] = True
    path.write_text(json.dumps(dict(sorted(out.items())), indent=2) + "\n")


def build(name, spec):
    directory = MODELS / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    vocab_size = write_vocab(directory, spec["vocab"], spec["seed"])
    write_tokenizer_config(directory, spec["tokenizer"])

    text = dict(spec["text"], vocab_size=vocab_size)
    config = ChineseCLIPConfig(text_config=text, vision_config=spec["vision"], projection_dim=spec["projection_dim"])
    torch.manual_seed(spec["seed"])
    model = ChineseCLIPModel(config).eval()
    randomize(model, spec)
    model = model.to(spec["dtype"])
    model.config.dtype = spec["dtype"]
    model.save_pretrained(directory)
    if spec["pooler"]:
        add_pooler(directory, spec["text"]["hidden_size"], spec["dtype"], spec["seed"])
    if spec.get("legacy"):
        legacy_config(directory)
    size = spec["vision"]["image_size"]
    write_preprocessor(directory, spec["preprocessor"], size)

    # --- golden outputs, float32 math on the stored weights ---
    ref, info = ChineseCLIPModel.from_pretrained(directory, dtype=torch.float32, output_loading_info=True)
    ref.eval()
    assert not info["missing_keys"] and not info["mismatched_keys"], info
    tok = AutoTokenizer.from_pretrained(directory)
    assert type(tok).__name__ == "BertTokenizer", type(tok)
    processor = ChineseCLIPImageProcessorPil.from_pretrained(directory)

    images = [load_image(str(ROOT / "Tests" / "Fixtures" / p)) for p in IMAGES]
    pixel_values = processor(images=images, return_tensors="pt")["pixel_values"]
    assert tuple(pixel_values.shape) == (len(IMAGES), 3, size, size), pixel_values.shape

    encoded = [tok(t) for t in TEXTS]
    batch = tok(TEXTS, padding=True, return_tensors="pt")
    assert batch["input_ids"].shape[1] <= spec["text"]["max_position_embeddings"]
    with torch.no_grad():
        image_features = ref.get_image_features(pixel_values=pixel_values).pooler_output
        text_features = ref.get_text_features(**batch).pooler_output
        out = ref(**batch, pixel_values=pixel_values)
        # Each row alone, without padding, gives the padded batch's embedding (bidirectional, masked).
        for i, e in enumerate(encoded):
            single = ref.get_text_features(**{k: torch.tensor([v]) for k, v in e.items()}).pooler_output[0]
            assert torch.allclose(single, text_features[i], atol=1e-5), (i, (single - text_features[i]).abs().max())
    # Floating-point operations of one image through get_image_features, as torch's flop counter sees them.
    with torch.no_grad(), FlopCounterMode(display=False) as flops:
        ref.get_image_features(pixel_values=pixel_values[:1])
    image_embeds = image_features / image_features.norm(dim=-1, keepdim=True)
    text_embeds = text_features / text_features.norm(dim=-1, keepdim=True)
    assert torch.allclose(image_embeds, out.image_embeds, atol=1e-6)
    assert torch.allclose(text_embeds, out.text_embeds, atol=1e-6)

    classifier = pipeline(task="zero-shot-image-classification", model=str(directory), image_processor=processor,
                          device="cpu", dtype=torch.float32)
    assert type(classifier.image_processor).__name__ == "ChineseCLIPImageProcessorPil"
    assert type(classifier.tokenizer).__name__ == "BertTokenizer"
    cases = []
    for path, image in zip(IMAGES, images):
        for labels, template in LABEL_SETS:
            kwargs = {} if template is None else {"hypothesis_template": template}
            result = classifier(str(ROOT / "Tests" / "Fixtures" / path), candidate_labels=labels, **kwargs)
            sequences = [(template or DEFAULT_TEMPLATE).format(x) for x in labels]
            text_inputs = tok(sequences, padding=True, return_tensors="pt")
            with torch.no_grad():
                logits = ref(**text_inputs, pixel_values=processor(images=[image], return_tensors="pt")[
                    "pixel_values"]).logits_per_image[0]
            scores = logits.softmax(-1).tolist()
            for r in result:  # the pipeline's scores are softmax(logits_per_image) in label order, sorted
                assert any(abs(r["score"] - s) < 1e-7 for s in scores)
            cases.append({
                "image": Path(path).name,
                "labels": labels,
                "template": template or DEFAULT_TEMPLATE,
                "template_given": template is not None,
                "sequences": sequences,
                "input_ids": [tok(s).input_ids for s in sequences],
                "logits": logits.tolist(),
                "predictions": [{"label": r["label"], "score": r["score"]} for r in result],
            })

    GOLDEN.mkdir(parents=True, exist_ok=True)
    pixel_values.numpy().astype("<f4").tofile(GOLDEN / f"{name}.pixel_values.f32")
    golden = {
        "checkpoint": name,
        "images": IMAGES,
        "pixel_values_file": f"{name}.pixel_values.f32",
        "pixel_values_shape": list(pixel_values.shape),
        "texts": TEXTS,
        "input_ids": [e.input_ids for e in encoded],
        "token_type_ids": [e["token_type_ids"] for e in encoded],
        "model_input_names": list(tok.model_input_names),
        "pad_token_id": tok.pad_token_id,
        "logit_scale": float(ref.logit_scale.item()),
        "unexpected_keys": sorted(info["unexpected_keys"]),
        "image_embeds": image_embeds.tolist(),
        "text_embeds": text_embeds.tolist(),
        "logits_per_image": out.logits_per_image.tolist(),
        "image_flops_per_image": flops.get_total_flops(),
        "pipeline": cases,
    }
    (GOLDEN / f"{name}.json").write_text(json.dumps(golden, ensure_ascii=False) + "\n")
    total = sum(p.stat().st_size for p in directory.iterdir())
    print(name, f"{total / 1024:.0f} KiB", sorted(p.name for p in directory.iterdir()),
          "unexpected:", sorted(info["unexpected_keys"]))


def main():
    torch.use_deterministic_algorithms(True)
    for name, spec in CONFIGS.items():
        build(name, spec)


if __name__ == "__main__":
    main()
