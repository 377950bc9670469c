"""Tiny random-weight SigLIP checkpoints in Hugging Face layout, with golden outputs from transformers.

Writes Tests/Fixtures/models/siglip-<name>/ as `save_pretrained` lays a SigLIP repository out: config.json
(model_type "siglip"), model.safetensors, preprocessor_config.json, and the slow-tokenizer files spiece.model +
tokenizer_config.json (no tokenizer.json, like google/siglip-base-patch16-224). The SentencePiece unigram models are
trained here with PyPI `sentencepiece` on ImageNet class names in prompt templates, with SigLIP's (T5's) special ids:
<pad> 0, </s> 1, <unk> 2, no <s>. Their vocabulary is not SigLIP's; the algorithm is.

And Tests/Fixtures/models/golden/siglip-<name>.json + siglip-<name>.pixel_values.f32 (little-endian float32,
`[images, 3, H, W]`) with, all in float32 (F16 weights computed in float32):
- pixel_values: `SiglipImageProcessorPil.from_pretrained(dir)(load_image(path))` for real photos
  (Tests/Fixtures/pipeline/images); the backend is pinned to PIL, as zeroshot matches Pillow;
- image_embeds: `get_image_features(pixel_values).pooler_output`, L2-normalised as SiglipModel.forward does;
- texts, their token ids as `tokenizer(text).input_ids` gives them, and the pipeline's text inputs for them
  (`padding="max_length", max_length=64, truncation=True`: input_ids, plus attention_mask when the tokenizer's
  model_input_names has it); text_embeds (`get_text_features` on exactly those inputs, L2-normalised);
- logit_scale, logit_bias and logits_per_image = `SiglipModel(**text_inputs, pixel_values)`;
- image_flops_per_image: torch's FlopCounterMode count of one image through get_image_features;
- pipeline cases: `pipeline(task="zero-shot-image-classification", model=dir, dtype=torch.float32)` per image and
  (candidate labels, hypothesis template), with the keys of the text inputs the pipeline built and sent to the
  model, their rows, the scores (sigmoid of logits_per_image, sorted as the pipeline sorts) and the logits. When the
  pipeline fails (the checkpoint with 16 text positions: the pipeline pads to 64 and SiglipTextEmbeddings raises),
  the case records the error instead, and the text goldens use the model's own length
  (`padding="max_length", max_length=max_position_embeddings`).

Re-run with `python Tools/reference/siglip_fixtures.py`; seeds are fixed. Needs `sentencepiece`.
"""
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import (
    AutoImageProcessor,
    SiglipConfig,
    SiglipImageProcessorPil,
    SiglipModel,
    SiglipTokenizer,
    pipeline,
)
from transformers.image_utils import load_image

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "Tests" / "Fixtures" / "models"
GOLDEN = MODELS / "golden"
IMAGES = ROOT / "Tests" / "Fixtures" / "pipeline" / "images"  # written by pipeline_fixtures.py

PIPELINE_MAX_LENGTH = 64  # the zero-shot-image-classification pipeline pads SigLIP text to this length

IMAGE_NAMES = ["chelsea.jpg", "coffee_small.png", "camera_gray.png", "astronaut_exif6.jpg"]

TEXTS = [
    "a photo of a cat.",
    "This is a photo of a Tabby Cat!",
    "dog",
    "",
    "  spaces,   tabs\tand\nnewlines  ",
    "It's a photo of 2 dogs & 3 cats... (really)",
    "Café crème, 東京の夜景 🙂",
    "a very long caption " + " ".join(f"with a rock number {i} and a tree" for i in range(20)),
]

LABEL_SETS = [
    (["cat", "dog", "rocket", "cup of coffee"], "This is a photo of {}."),
    (["a photo of an astronaut", "A grayscale photo!", "Café au lait", "🙂 a smiling face"], "{}"),
    (["cat", "cat", "dog"], "a blurry photo of a {}."),
    (["sky"], "This is a photo of {}."),
]

CHECKPOINTS = {
    # (a) like google/siglip-base-patch16-224: model_input_names ["input_ids"] (no attention mask reaches the
    #     model; padding is </s>), preprocessor_config.json as SiglipImageProcessor saves it, F32.
    "siglip-p8-nomask": dict(
        text=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
                  max_position_embeddings=64),
        vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                    image_size=40, patch_size=8),
        dtype=torch.float32, vocab_size=320, normalization="nmt_nfkc", mask=False, seed=11,
        logit_scale=math.log(10.0), logit_bias=-1.5,
        processor=dict(size={"height": 40, "width": 40}),
    ),
    # (b) F16 weights; attention_mask in model_input_names (pad keys are masked); a text head that changes the
    #     width (projection_size 48 from hidden 40); non-default resample (bilinear) and mean/std.
    "siglip-p16-mask-f16": dict(
        text=dict(hidden_size=40, intermediate_size=72, num_hidden_layers=3, num_attention_heads=4,
                  max_position_embeddings=64, projection_size=48),
        vision=dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=3,
                    image_size=48, patch_size=16),
        dtype=torch.float16, vocab_size=500, normalization="identity", mask=True, seed=12,
        logit_scale=math.log(20.0), logit_bias=0.7,
        processor=dict(size={"height": 48, "width": 48}, resample=2,
                       image_mean=[0.48145466, 0.4578275, 0.40821073],
                       image_std=[0.26862954, 0.26130258, 0.27577711]),
    ),
    # (c) 16 text positions (as siglip-so400m-patch14-224's text tower); image 38 with patch 6 leaves a 2-pixel
    #     remainder the patch convolution ignores; one layer in the text tower, three in the image tower; a
    #     minimal preprocessor_config.json (size only, no image_processor_type: the processor class comes from
    #     config.json's model_type and its defaults fill the rest); the tokenizer has the attention mask.
    "siglip-p6-pos16": dict(
        text=dict(hidden_size=24, intermediate_size=40, num_hidden_layers=1, num_attention_heads=3,
                  max_position_embeddings=16, projection_size=36),
        vision=dict(hidden_size=36, intermediate_size=60, num_hidden_layers=3, num_attention_heads=6,
                    image_size=38, patch_size=6),
        dtype=torch.float32, vocab_size=256, normalization="identity", mask=True, seed=13,
        logit_scale=math.log(5.0), logit_bias=-0.3,
        processor=None, minimal_processor={"size": {"height": 38, "width": 38}},
    ),
}

def corpus(seed):
    """ImageNet class names in OpenAI's 80 prompt templates (open_clip's zero-shot metadata), canonicalised as
    SiglipTokenizer canonicalises text (lowercase, no punctuation), shuffled with `seed`."""
    import re
    import string
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES, OPENAI_IMAGENET_TEMPLATES

    rng = np.random.default_rng(seed)
    lines = []
    for name in IMAGENET_CLASSNAMES:
        for t in rng.choice(len(OPENAI_IMAGENET_TEMPLATES), size=3, replace=False):
            text = OPENAI_IMAGENET_TEMPLATES[t](name).lower().translate(str.maketrans("", "", string.punctuation))
            lines.append(re.sub(r"\s+", " ", text).strip())
    rng.shuffle(lines)
    return lines


def train_spiece(directory, vocab_size, normalization, seed):
    """A SentencePiece unigram model with T5's special pieces, trained on the corpus. `nmt_nfkc` (T5's and
    SigLIP's rule) stores a ~240 kB precompiled character map in the model; `identity` stores none."""
    work = Path(tempfile.mkdtemp())
    (work / "corpus.txt").write_text("\n".join(corpus(seed)) + "\n")
    cwd = os.getcwd()
    os.chdir(work)  # relative paths: the trainer spec stored in the model stays the same from run to run
    spm.SentencePieceTrainer.train(
        input="corpus.txt", model_prefix="spiece", model_type="unigram",
        vocab_size=vocab_size, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>", character_coverage=1.0,
        normalization_rule_name=normalization, num_threads=1, minloglevel=2,
    )
    os.chdir(cwd)
    shutil.copy(work / "spiece.model", directory / "spiece.model")
    shutil.rmtree(work)


def write_tokenizer(directory, spec):
    train_spiece(directory, spec["vocab_size"], spec["normalization"], spec["seed"])
    kwargs = {} if spec["mask"] else {"model_input_names": ["input_ids"]}
    tok = SiglipTokenizer(vocab_file=str(directory / "spiece.model"), model_max_length=spec["text"][
        "max_position_embeddings"], **kwargs)
    tok.save_pretrained(directory)
    cfg_path = directory / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    for k in ("is_local", "local_files_only"):
        cfg.pop(k, None)
    cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    tok = SiglipTokenizer.from_pretrained(directory)
    assert ("attention_mask" in tok.model_input_names) == spec["mask"], tok.model_input_names
    return tok


def randomize(model, spec):
    """Default init, then non-trivial layer-norm and bias values so that every tensor matters."""
    g = torch.Generator().manual_seed(spec["seed"] + 1000)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                p.fill_(spec["logit_scale"])
            elif name == "logit_bias":
                p.fill_(spec["logit_bias"])
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))


def write_processor(directory, spec):
    if spec["processor"] is not None:
        SiglipImageProcessorPil(**spec["processor"]).save_pretrained(directory)
    else:
        (directory / "preprocessor_config.json").write_text(json.dumps(spec["minimal_processor"], indent=2) + "\n")
    processor = SiglipImageProcessorPil.from_pretrained(directory)
    # The class AutoImageProcessor picks (from image_processor_type, else config.json's model_type) is SigLIP's.
    auto = AutoImageProcessor.from_pretrained(directory, backend="pil")
    assert type(auto).__name__ == "SiglipImageProcessorPil", type(auto)
    return processor


def l2(x):
    return x / x.norm(p=2, dim=-1, keepdim=True)


def text_inputs_for(tok, texts, max_length):
    """The pipeline's tokenizer call, with the model's own length when that is below the pipeline's 64."""
    enc = tok(texts, padding="max_length", max_length=max_length, truncation=True, return_tensors="pt")
    return dict(enc)


def pipeline_cases(directory, processor, model, tok, names):
    classifier = pipeline(task="zero-shot-image-classification", model=str(directory), image_processor=processor,
                          device="cpu", dtype=torch.float32)
    assert type(classifier.image_processor).__name__ == "SiglipImageProcessorPil"
    sent = []
    original_preprocess = classifier.preprocess

    def spying_preprocess(*args, **kwargs):
        out = original_preprocess(*args, **kwargs)
        sent.append(out["text_inputs"][0])
        return out

    classifier.preprocess = spying_preprocess
    cases = []
    for name in names:
        path = str(IMAGES / name)
        for labels, template in LABEL_SETS:
            sent.clear()
            case = {"image": name, "labels": labels, "template": template,
                    "sequences": [template.format(x) for x in labels]}
            try:
                result = classifier(path, candidate_labels=labels, hypothesis_template=template)
            except Exception as error:  # noqa: BLE001 - recorded as the reference behaviour
                case["pipeline_error"] = f"{type(error).__name__}: {error}"
                if sent:
                    case["text_input_keys"] = sorted(sent[0].keys())
                cases.append(case)
                continue
            text_inputs = sent[0]
            case["text_input_keys"] = sorted(text_inputs.keys())
            case["input_ids"] = text_inputs["input_ids"].tolist()
            if "attention_mask" in text_inputs:
                case["attention_mask"] = text_inputs["attention_mask"].tolist()
            case["predictions"] = [{"label": r["label"], "score": r["score"]} for r in result]
            pixel_values = processor(images=[load_image(path)], return_tensors="pt")["pixel_values"]
            with torch.no_grad():
                out = model(**text_inputs, pixel_values=pixel_values)
            case["logits"] = out.logits_per_image[0].tolist()
            scores = sorted(((float(torch.sigmoid(torch.tensor(v))), l) for v, l in zip(case["logits"], labels)),
                            key=lambda x: -x[0])
            assert all(abs(a[0] - b["score"]) < 1e-7 for a, b in zip(scores, case["predictions"]))
            cases.append(case)
    return cases


def build(name, spec):
    directory = MODELS / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    tok = write_tokenizer(directory, spec)

    text = dict(spec["text"], vocab_size=tok.vocab_size)
    config = SiglipConfig(text_config=text, vision_config=dict(spec["vision"]))
    torch.manual_seed(spec["seed"])
    model = SiglipModel(config).eval()
    randomize(model, spec)
    model = model.to(spec["dtype"])
    model.config.dtype = spec["dtype"]
    model.save_pretrained(directory)
    processor = write_processor(directory, spec)

    ref = SiglipModel.from_pretrained(directory, dtype=torch.float32).eval()
    images = [load_image(str(IMAGES / n)) for n in IMAGE_NAMES]
    pixel_values = processor(images=images, return_tensors="pt")["pixel_values"]
    size = spec["vision"]["image_size"]
    assert tuple(pixel_values.shape) == (len(images), 3, size, size), pixel_values.shape

    positions = spec["text"]["max_position_embeddings"]
    text_length = min(PIPELINE_MAX_LENGTH, positions)
    text_inputs = text_inputs_for(tok, TEXTS, text_length)
    model_inputs = {k: v for k, v in text_inputs.items() if k in tok.model_input_names}
    assert sorted(model_inputs) == sorted(text_inputs), (text_inputs.keys(), tok.model_input_names)
    with torch.no_grad():
        image_features = ref.get_image_features(pixel_values=pixel_values).pooler_output
        text_features = ref.get_text_features(**model_inputs).pooler_output
        out = ref(**model_inputs, pixel_values=pixel_values)
    image_embeds, text_embeds = l2(image_features), l2(text_features)
    assert torch.allclose(image_embeds, out.image_embeds, atol=1e-6)
    assert torch.allclose(text_embeds, out.text_embeds, atol=1e-6)
    if spec["mask"]:
        # The mask changes the numbers: without it the padded keys take part in attention.
        with torch.no_grad():
            unmasked = l2(ref.get_text_features(input_ids=model_inputs["input_ids"]).pooler_output)
        assert (unmasked - text_embeds).abs().max() > 1e-3

    # Floating-point operations of one image through get_image_features, as torch's flop counter sees them
    # (convolution, matrix products, attention; 2 per multiply-add).
    with torch.no_grad(), FlopCounterMode(display=False) as flops:
        ref.get_image_features(pixel_values=pixel_values[:1])

    cases = pipeline_cases(directory, processor, ref, tok, IMAGE_NAMES)
    if positions < PIPELINE_MAX_LENGTH:
        assert all("pipeline_error" in c for c in cases)
    else:
        assert not any("pipeline_error" in c for c in cases)
        assert all(c["text_input_keys"] == sorted(tok.model_input_names) for c in cases)

    GOLDEN.mkdir(parents=True, exist_ok=True)
    pixel_values.numpy().astype("<f4").tofile(GOLDEN / f"{name}.pixel_values.f32")
    golden = {
        "checkpoint": name,
        "images": IMAGE_NAMES,
        "pixel_values_file": f"{name}.pixel_values.f32",
        "pixel_values_shape": list(pixel_values.shape),
        "texts": TEXTS,
        "token_ids": [tok(t).input_ids for t in TEXTS],
        "text_length": text_length,
        "text_input_keys": sorted(text_inputs.keys()),
        "input_ids": text_inputs["input_ids"].tolist(),
        "logit_scale": float(ref.logit_scale.item()),
        "logit_bias": float(ref.logit_bias.item()),
        "image_embeds": image_embeds.tolist(),
        "text_embeds": text_embeds.tolist(),
        "logits_per_image": out.logits_per_image.tolist(),
        "image_flops_per_image": flops.get_total_flops(),
        "pipeline_cases": cases,
    }
    if "attention_mask" in text_inputs:
        golden["attention_mask"] = text_inputs["attention_mask"].tolist()
    (GOLDEN / f"{name}.json").write_text(json.dumps(golden, ensure_ascii=False) + "\n")
    print(name, "ok", sorted(os.listdir(directory)), "vocab", tok.vocab_size)


def main():
    torch.use_deterministic_algorithms(True)
    for name, spec in CHECKPOINTS.items():
        build(name, spec)


if __name__ == "__main__":
    main()
