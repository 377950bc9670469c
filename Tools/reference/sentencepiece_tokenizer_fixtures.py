"""Golden input_ids for the SentencePiece-based tokenizers (SigLIP, SigLIP2 / Gemma, Unigram tokenizer.json).

Trains two small SentencePiece models with PyPI `sentencepiece` on a generated corpus (the vocabularies are not
SigLIP's or Gemma's; the algorithms are):
  - a Unigram model with the default `nmt_nfkc` normalizer (pad 0, eos 1, unk 2, no bos, as SigLIP's spiece.model);
  - a BPE model with `byte_fallback` and the identity normalizer (pad 0, eos 1, bos 2, unk 3, <mask> 4, as Gemma's),
    and a Unigram model with a few custom normalization rules for the Unigram tokenizer.json.
Writes tokenizer directories in the layouts Hub repos ship and records, for each,
`AutoTokenizer.from_pretrained(dir)(text).input_ids` (transformers 5.24) for every text, plus truncated ids
(`truncation=True, max_length=64` and 8; null when equal to the full ids), padding_side, model_input_names, pad_token_id and model_max_length.

Layouts (Tests/Fixtures/sentencepiece/):
  siglip/          spiece.model + tokenizer_config.json + special_tokens_map.json as google/siglip-* ship them
                   (model_input_names ["input_ids"]: no attention mask, pad = eos)
  siglip-mask/     the same model, tokenizer_config.json as SiglipTokenizer.save_pretrained writes it (default
                   model_input_names, with attention_mask)
  siglip-cased/    do_lower_case false
  siglip-left/     truncation_side left
  siglip-split/    split_special_tokens true (added tokens in the text are encoded as text)
  siglip-bytes/    a Unigram model with byte_fallback, the identity normalizer and a user-defined piece ("cat"), an
                   additional special token <extra_a>
  siglip-bpe/      a SentencePiece BPE model (identity normalizer, a user-defined piece "photo")
  siglip-nolegacy/ the same with legacy false (transformers then turns the model's add_dummy_prefix off)
  gemma-eos/       tokenizer.json + tokenizer_config.json of GemmaTokenizer(add_bos_token=False, add_eos_token=True)
                   as save_pretrained writes them (the SigLIP2 fixed-resolution layout)
  gemma-bos/       tokenizer.json whose TemplateProcessing puts <bos> first, config without add_*_token
  gemma-flags/     gemma-bos's tokenizer.json with add_bos_token false / add_eos_token true in the config (ignored)
                   and padding_side right (GemmaTokenizer's default is left)
  siglip2/         tokenizer_class Siglip2Tokenizer (Gemma + Lowercase)
  unigram-json/    a Unigram tokenizer.json (Precompiled, Replace, Metaspace) loaded as TokenizersBackend
  unigram-json-first/  the same converted with legacy=False (Metaspace prepend_scheme "first")

Usage: /work/venv/bin/python Tools/reference/sentencepiece_tokenizer_fixtures.py
"""

import io
import json
import os
import random
import re
import shutil
import sys

import sentencepiece as spm
import transformers
from sentencepiece import sentencepiece_model_pb2 as model_pb2
from transformers import AutoTokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "sentencepiece")


def corpus():
    rng = random.Random(0)
    syllables = (
        "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo ka ke ki ko la le li lo lu ma me mi mo mu na ne ni "
        "no nu pa pe pi po ra re ri ro ru sa se si so su ta te ti to tu va ve vi wa we ya yo za zo th sh ch st tr"
    ).split()
    common = (
        "a photo of the cat dog rocket car house tree bird small large red green blue picture image drawing painting "
        "sketch close up view bright dark old new running sitting on in with and wearing hat glass water sky mountain "
        "river city street night day"
    ).split()
    invented = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(400)]
    rare = "café naïve résumé Zürich Ångström façade 猫 狗 火箭 照片 一张 的 Photo Cat 2024 12 7".split()
    lines = []
    for _ in range(4000):
        words = []
        for _ in range(rng.randint(3, 12)):
            r = rng.random()
            words.append(rng.choice(common) if r < 0.5 else rng.choice(invented) if r < 0.95 else rng.choice(rare))
        lines.append(" ".join(words))
    return lines


def train(**kwargs):
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus()), model_writer=out, num_threads=1,
                                   minloglevel=2, **kwargs)
    return out.getvalue()


TEXTS = [
    "a photo of a cat",
    "A Photo Of A Cat.",
    "a photo of a dog!",
    "a photo of a rocket?",
    "It's a \"big\" (red) car -- isn't it?",
    "hello, world... #1 @home [x] {y} <z> ~tilde~ `tick` ^caret^ |pipe| \\back\\ under_score",
    "MULTIPLE    SPACES   here",
    "   leading and trailing   ",
    "tabs\tand\nnewlines\r\nhere",
    "\u00a0non-breaking\u00a0space\u3000ideographic space",
    "café naïve résumé façade",
    "cafe\u0301 decomposed accent",
    "Zürich and Ångström",
    "ＡＢＣ ｆｕｌｌ－ｗｉｄｔｈ １２３",
    "ﬁne ﬂower ligatures ﬀ",
    "ℌilbert ① ㈱ ½ x² Ⅻ",
    "emoji 😀 🚀🚀 and 👍🏽",
    "chars outside ÿ ĳ ø ß þ",
    "一张猫的照片。",
    "猫, 狗, 火箭",
    "照片 of a 猫",
    "Ελληνικά ΣΟΦΟΣ Σ",
    "İstanbul DİYARBAKIR",
    "Привет мир",
    "مرحبا بالعالم",
    "",
    " ",
    "   ",
    "\t\n",
    "!!!",
    "...",
    "a",
    "A",
    "▁",
    "▁a▁b",
    "a ▁ b",
    "x</s>y",
    "hello </s> world",
    "</s>",
    "</s></s>",
    "<unk>",
    "a <unk> b",
    "<pad> <s> <eos> <bos> <mask>",
    "a photo of a {} .",
    "a cat<extra_a>cats <extra_a> concatenate",
    "x <extra_a>",
    "numbers 0 12 345 6789 2024",
    "mixed CASE Words AND digits 42",
    "the quick brown fox jumps over the lazy dog",
    "sitting on the mountain river at night with a bright sky",
    "tishobama kedo lirasa vetu",
    "\u200bzero\u200bwidth\u200b",
    "control\u0007char",
    # Canonically equivalent but different strings must not share a cache entry or a vocabulary lookup.
    "\u0308\u0303\u0327",
    "\u0327\u0308\u0303",
    "\u00c5 \u212b A\u030a",
    "\u00e9 e\u0301 \u2126 \u03a9 \uf900 \u8c48",
    "soft\u00adhyphen",
    "long " + " ".join(["a photo of a small red bird sitting in a tree"] * 12),
    "Long Punctuated, Text! " * 20,
    "longword" * 40,
    "猫" * 80,
    "😀" * 30,
]



def random_texts(count, seed=7):
    """Seeded random texts: scripts, combining marks, punctuation, Unicode spaces, controls, emoji, special tokens
    and any code point."""
    rng = random.Random(seed)
    pools = [
        "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " " * 6, "\t\n\r\x0b\x0c",
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "éèêëàâäôöûüçñßøåæœÿ", "\u0301\u0308\u0327\u0303", "猫狗火箭照片一张的是不了人我在有",
        "한국어텍스트", "привет ΣΟΦΟΣ σοφος", "ＡＢＣｆｕｌｌ１２３！？", "ﬁﬂﬀ①㈱½²Ⅻℌ™", "😀🚀👍🏽❤️🇫🇷",
        "\u00a0\u3000\u2009\u200b\u200d\u00ad\u2028\u0085\x1c", "\x00\x07\x7f", "عربي", "ไทย", "İıŞğ",
    ]
    specials = ["▁", "</s>", "<unk>", "<pad>", "<s>", "<mask>", "<extra_a>", "<eos>", "<bos>", "cat", " a photo of "]
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 6)):
            r = rng.random()
            if r < 0.15:
                parts.append(rng.choice(specials))
            elif r < 0.3:
                ranges = [(0x20, 0x2FFF), (0x3000, 0xD7FF), (0xE000, 0x10FFFF)]
                lo, hi = rng.choice(ranges)
                parts.append("".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 3))))
            else:
                pool = rng.choice(pools)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 5))))
        texts.append("".join(parts))
    return texts


def truncated(tok, text, n):
    """The ids with truncation=True, max_length=n; None when they equal the untruncated ids (keeps the file small)."""
    ids = tok(text, truncation=True, max_length=n)["input_ids"]
    return None if ids == tok(text)["input_ids"] else ids


def record(directory):
    tok = AutoTokenizer.from_pretrained(directory)
    entry = {
        "class": type(tok).__name__,
        "model_input_names": list(tok.model_input_names),
        "pad_token_id": tok.pad_token_id,
        "model_max_length": tok.model_max_length if tok.model_max_length < 1e20 else None,
        "padding_side": tok.padding_side,
        "ids": [tok(t)["input_ids"] for t in TEXTS],
        "truncated_64": [truncated(tok, t, 64) for t in TEXTS],
        "truncated_8": [truncated(tok, t, 8) for t in TEXTS],
    }
    return entry


def write_json(path, obj):
    text = json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True)
    # One line per list of ids.
    text = re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]", lambda m: "[" + ",".join(x.strip(",") for x in m.group(1).split()) + "]", text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def siglip_layouts(model_bytes):
    d = os.path.join(ROOT, "siglip")
    os.makedirs(d)
    with open(os.path.join(d, "spiece.model"), "wb") as f:
        f.write(model_bytes)
    # As google/siglip-base-patch16-224 ships them.
    special = {"content": None, "lstrip": True, "normalized": False, "rstrip": True, "single_word": False,
               "special": True}
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "added_tokens_decoder": {"1": {**special, "content": "</s>"}, "2": {**special, "content": "<unk>"}},
        "additional_special_tokens": [],
        "clean_up_tokenization_spaces": True,
        "do_lower_case": True,
        "eos_token": "</s>",
        "model_input_names": ["input_ids"],
        "model_max_length": 64,
        "pad_token": "</s>",
        "processor_class": "SiglipProcessor",
        "sp_model_kwargs": {},
        "tokenizer_class": "SiglipTokenizer",
        "unk_token": "<unk>",
    })
    write_json(os.path.join(d, "special_tokens_map.json"), {
        "eos_token": {**special, "content": "</s>"},
        "pad_token": {**special, "content": "</s>"},
        "unk_token": {**special, "content": "<unk>"},
    })
    layouts = ["siglip"]
    # truncation_side left: truncation keeps the end of the text; split_special_tokens: "</s>" is text.
    for name, extra in [("siglip-left", {"truncation_side": "left"}), ("siglip-split", {"split_special_tokens": True})]:
        out = os.path.join(ROOT, name)
        os.makedirs(out)
        os.symlink(os.path.join("..", "siglip", "spiece.model"), os.path.join(out, "spiece.model"))
        with open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8") as f:
            write_json(os.path.join(out, "tokenizer_config.json"), {**json.load(f), **extra})
        layouts.append(name)
    # As SiglipTokenizer.save_pretrained writes a tokenizer directory (default model_input_names), and cased.
    for name, kwargs in [("siglip-mask", {}), ("siglip-cased", {"do_lower_case": False})]:
        tok = transformers.SiglipTokenizer(vocab_file=os.path.join(d, "spiece.model"), **kwargs)
        out = os.path.join(ROOT, name)
        tok.save_pretrained(out)
        # Keep one copy of the model in the fixtures: the others link to it.
        os.remove(os.path.join(out, "spiece.model"))
        os.symlink(os.path.join("..", "siglip", "spiece.model"), os.path.join(out, "spiece.model"))
        layouts.append(name)
    return layouts


def gemma_layouts(model_bytes):
    from transformers.tokenization_utils_sentencepiece import SentencePieceExtractor

    path = os.path.join(ROOT, "gemma.model.tmp")
    with open(path, "wb") as f:
        f.write(model_bytes)
    vocab, _, merges = SentencePieceExtractor(path).extract()
    os.remove(path)
    layouts = []
    for name, cls, kwargs in [
        ("gemma-eos", transformers.GemmaTokenizer, {"add_bos_token": False, "add_eos_token": True}),
        ("gemma-bos", transformers.GemmaTokenizer, {}),
        ("siglip2", transformers.Siglip2Tokenizer, {"add_bos_token": False, "add_eos_token": True}),
    ]:
        tok = cls(vocab=dict(vocab), merges=list(merges), model_max_length=64, **kwargs)
        out = os.path.join(ROOT, name)
        tok.save_pretrained(out)
        if name == "gemma-bos":
            # The post-processor Gemma checkpoints declare: <bos> $A; the config leaves it as declared.
            tj_path = os.path.join(out, "tokenizer.json")
            with open(tj_path, encoding="utf-8") as f:
                tj = json.load(f)
            tj["post_processor"] = {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "<bos>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}},
            }
            with open(tj_path, "w", encoding="utf-8") as f:
                json.dump(tj, f, ensure_ascii=False, indent=2)
            cfg_path = os.path.join(out, "tokenizer_config.json")
            with open(cfg_path, encoding="utf-8") as f:
                cfg = json.load(f)
            cfg.pop("add_bos_token", None)
            cfg.pop("add_eos_token", None)
            write_json(cfg_path, cfg)
        layouts.append(name)
    # add_bos_token / add_eos_token in tokenizer_config.json do not change a tokenizer.json's post-processor.
    out = os.path.join(ROOT, "gemma-flags")
    os.makedirs(out)
    os.symlink(os.path.join("..", "gemma-bos", "tokenizer.json"), os.path.join(out, "tokenizer.json"))
    with open(os.path.join(ROOT, "gemma-bos", "tokenizer_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    write_json(os.path.join(out, "tokenizer_config.json"), {**cfg, "add_bos_token": False, "add_eos_token": True,
                                                                     "padding_side": "right"})
    layouts.append("gemma-flags")
    return layouts


def siglip_bpe_layout(model_bytes):
    """SiglipTokenizer over a SentencePiece BPE model (identity normalizer, a user-defined piece)."""
    d = os.path.join(ROOT, "siglip-bpe")
    os.makedirs(d)
    with open(os.path.join(d, "spiece.model"), "wb") as f:
        f.write(model_bytes)
    transformers.SiglipTokenizer(vocab_file=os.path.join(d, "spiece.model")).save_pretrained(d)
    return ["siglip-bpe"]


def siglip_variant_layouts(model_bytes):
    """A Unigram model with byte fallback, no charsmap and a user-defined piece; and a legacy=False config."""
    d = os.path.join(ROOT, "siglip-bytes")
    os.makedirs(d)
    with open(os.path.join(d, "spiece.model"), "wb") as f:
        f.write(model_bytes)
    tok = transformers.SiglipTokenizer(vocab_file=os.path.join(d, "spiece.model"),
                                       additional_special_tokens=["<extra_a>"])
    tok.save_pretrained(d)
    out = os.path.join(ROOT, "siglip-nolegacy")
    tok = transformers.SiglipTokenizer(vocab_file=os.path.join(d, "spiece.model"), legacy=False)
    tok.save_pretrained(out)
    os.remove(os.path.join(out, "spiece.model"))
    os.symlink(os.path.join("..", "siglip-bytes", "spiece.model"), os.path.join(out, "spiece.model"))
    return ["siglip-bytes", "siglip-nolegacy"]


def unigram_json_layout(model_bytes):
    from transformers.convert_slow_tokenizer import SpmConverter
    from transformers.tokenization_utils_tokenizers import TokenizersBackend

    proto = model_pb2.ModelProto()
    proto.ParseFromString(model_bytes)
    vocab = [(p.piece, p.score) for p in proto.pieces]
    layouts = []
    # legacy=True: Metaspace prepend_scheme "always"; legacy=False: "first" (only at the start of the text).
    for name, legacy in [("unigram-json", True), ("unigram-json-first", False)]:
        backend = SpmConverter.build_tokenizer_from_spm_proto(proto=proto, vocab=vocab, legacy=legacy)
        tok = TokenizersBackend(tokenizer_object=backend, eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
                                add_eos_token=True)
        out = os.path.join(ROOT, name)
        tok.save_pretrained(out)
        layouts.append(name)
    return layouts


# Custom rules for the Unigram tokenizer.json (a small charsmap): full-width letters, ligatures, NBSP and one
# grapheme-sized rule, as tab-separated code points.
RULES = "\n".join(
    [f"{0xFF21 + i:X}\t{0x41 + i:X}" for i in range(26)]
    + [f"{0xFF41 + i:X}\t{0x61 + i:X}" for i in range(26)]
    + ["FB01\t66 69", "FB02\t66 6C", "A0\t20", "3000\t20", "65 301\tE9", "2460\t31"]
) + "\n"


TEXTS += random_texts(40)


def main():
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    unigram = train(model_type="unigram", vocab_size=400, pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    bpe = train(model_type="bpe", vocab_size=700, byte_fallback=True, normalization_rule_name="identity",
                add_dummy_prefix=False, remove_extra_whitespaces=False, split_digits=True, allow_whitespace_only_pieces=True,
                pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
                user_defined_symbols=["<mask>"])
    unigram_bytes = train(model_type="unigram", vocab_size=400, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                          byte_fallback=True, normalization_rule_name="identity", user_defined_symbols=["cat"])
    siglip_bpe = train(model_type="bpe", vocab_size=500, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                       normalization_rule_name="identity", user_defined_symbols=["photo"])
    rules_path = os.path.join(ROOT, "rules.tsv.tmp")
    with open(rules_path, "w") as f:
        f.write(RULES)
    unigram_rules = train(model_type="unigram", vocab_size=400, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                          normalization_rule_tsv=rules_path)
    os.remove(rules_path)

    layouts = (siglip_layouts(unigram) + siglip_variant_layouts(unigram_bytes) + siglip_bpe_layout(siglip_bpe)
               + gemma_layouts(bpe)
               + unigram_json_layout(unigram_rules))
    golden = {
        "transformers": transformers.__version__,
        "sentencepiece": spm.__version__,
        "texts": TEXTS,
        "layouts": {name: record(os.path.join(ROOT, name)) for name in layouts},
    }
    write_json(os.path.join(ROOT, "golden.json"), golden)
    for name, entry in golden["layouts"].items():
        print(name, entry["class"], entry["model_input_names"], entry["pad_token_id"], entry["model_max_length"],
              file=sys.stderr)


if __name__ == "__main__":
    main()
