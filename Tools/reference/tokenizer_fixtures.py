"""Golden token ids for the Swift CLIP tokenizer, from transformers' CLIPTokenizer (tokenizers backend).

Writes under Tests/Fixtures/tokenizers/:
  clip-vocab/         the full 49,408-token CLIP vocabulary as vocab.json + merges.txt, with a tokenizer_config.json
                      like openai/clip-vit-base-patch32's (model_max_length 77, pad `<|endoftext|>`).
  small-json/         a 2,000-merge vocabulary loaded and saved by transformers: tokenizer.json + tokenizer_config.json
                      exactly as `save_pretrained` writes them.
  small-hub/          the same vocabulary in the older Hub layout: tokenizer.json with "a b" merge strings, the Split
                      pattern without the special-token alternatives, ByteLevel use_regex false, added tokens with
                      normalized true; tokenizer_config.json like openai's and special_tokens_map.json with pad `!`
                      (as LAION checkpoints do).
  unicode.json        for every code point, what tokenizers does: \\p{L}, \\p{N} and \\s membership (ranges) and the
                      Lowercase and NFC results that differ from the input.
  golden.json         for every layout: bos/eos/pad ids and, per text, the ids transformers gives (truncated to 77 by
                      cutting to 76 and appending the end token; transformers itself does not truncate), plus one padded
                      batch (input_ids, attention_mask).

Run: python Tools/reference/tokenizer_fixtures.py
"""
import json
import os
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_vocab import write_vocab  # noqa: E402

from transformers import CLIPTokenizer  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "tokenizers"))
MAX_LENGTH = 77


def added(content):
    return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": True, "rstrip": False,
            "single_word": False}


def openai_config():
    return {
        "add_prefix_space": False,
        "bos_token": added("<|startoftext|>"),
        "do_lower_case": True,
        "eos_token": added("<|endoftext|>"),
        "errors": "replace",
        "model_max_length": 77,
        "pad_token": "<|endoftext|>",
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": added("<|endoftext|>"),
    }


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1 if not path.endswith("tokenizer.json") else None)
        f.write("\n")


def build_layouts():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)

    full = os.path.join(ROOT, "clip-vocab")
    write_vocab(full)
    write_json(os.path.join(full, "tokenizer_config.json"), openai_config())

    small_json = os.path.join(ROOT, "small-json")
    with tempfile.TemporaryDirectory() as tmp:
        write_vocab(tmp, n_merges=2000)
        tok = CLIPTokenizer.from_pretrained(tmp, model_max_length=MAX_LENGTH)
        tok.save_pretrained(small_json)

    small_hub = os.path.join(ROOT, "small-hub")
    os.makedirs(small_hub)
    with open(os.path.join(small_json, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    for tok in tj["added_tokens"]:
        tok["normalized"] = True
    split, byte_level = tj["pre_tokenizer"]["pretokenizers"]
    split["pattern"]["Regex"] = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
    byte_level["use_regex"] = False
    tj["model"]["merges"] = [" ".join(m) for m in tj["model"]["merges"]]
    write_json(os.path.join(small_hub, "tokenizer.json"), tj)
    write_json(os.path.join(small_hub, "tokenizer_config.json"), openai_config())
    write_json(os.path.join(small_hub, "special_tokens_map.json"), {
        "bos_token": added("<|startoftext|>") | {"__type": None},
        "eos_token": added("<|endoftext|>") | {"__type": None},
        "pad_token": "!",
        "unk_token": added("<|endoftext|>") | {"__type": None},
    })
    # special_tokens_map.json has no "__type" keys
    with open(os.path.join(small_hub, "special_tokens_map.json"), encoding="utf-8") as f:
        stm = json.load(f)
    for v in stm.values():
        if isinstance(v, dict):
            v.pop("__type", None)
    write_json(os.path.join(small_hub, "special_tokens_map.json"), stm)
    return {"clip-vocab": full, "small-json": small_json, "small-hub": small_hub}


LABELS = ["cat", "dog", "golden retriever", "tabby cat", "sports car", "airliner", "great white shark",
          "Granny Smith", "jack-o'-lantern", "crème brûlée", "café au lait", "T-shirt", "hot dog", "ice cream",
          "école", "Mädchen", "jalapeño", "naïve art", "three-toed sloth", "7-Eleven", "R2-D2", "a 1970s car",
          "スシ", "寿司", "猫", "강아지", "собака", "σκύλος", "कुत्ता", "قطة", "🐱", "🐶 dog"]
TEMPLATES = ["This is a photo of {}.", "a photo of a {}", "A PHOTO OF THE {}!", "{}", "a blurry photo of a {}.",
             "itap of a {}.", "a bad photo of the {}.", "a sculpture of a {}.", "art of the {}.",
             "a photo of the small {}."]

CORPUS = [
    "", " ", "   ", "\t", "\n", " \t\n\r ", "a", "A", "hello world", "Hello World", "HELLO WORLD",
    "hello   world", "hello\tworld", "hello\nworld", "hello\r\nworld", "  leading and trailing  ",
    "multiple\t\ttabs\tand   spaces\n\n\nnewlines",
    # unicode spaces
    "non\u00a0breaking\u00a0space", "ideographic\u3000space", "em\u2003space thin\u2009space", "line\u2028sep",
    "para\u2029sep", "nel\u0085char", "zero\u200bwidth", "narrow\u202fnbsp", "ogham\u1680space", "mongolian\u180evs",
    "bom\ufeffchar", "vt\u000bff\u000cend", "fs\u001cgs\u001dus\u001frs\u001e", "nul\u0000char", "del\u007fchar",
    # accents, precomposed and combining
    "café", "cafe\u0301", "CAFÉ", "CAFE\u0301", "naïve", "nai\u0308ve", "résumé", "re\u0301sume\u0301",
    "Ångström", "A\u030angstro\u0308m", "e\u0323\u0302", "e\u0302\u0323", "ệ", "a\u0300\u0301\u0302\u0303\u0304",
    "\u0301alone", "x\u0301\u0301\u0301", "ﬁnance ﬂower", "Straße STRASSE", "İstanbul ıi", "ΣΑΣ σας ΟΔΟΣ",
    "Ǆemal ǅ ǆ", "ΐ ΰ", "ǰ", "Ⓐ ⓐ", "Ω K Å",
    # scripts
    "日本語のテキスト", "中文文本测试", "한국어 텍스트", "\u1100\u1161\u11a8", "Русский ТЕКСТ", "Ελληνικά", "עברית",
    "العربية", "हिन्दी भाषा", "ภาษาไทย", "ქართული", "Tiếng Việt", "𠀀𠀁 astral cjk", "𝐀𝐁𝐂 math bold",
    "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ　１２３", "ｶﾀｶﾅ", "༄༅། tibetan",
    # emoji
    "🐱", "😀😃😄", "I ❤️ NY", "👍🏽", "👍🏻👍🏿", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🏴‍☠️", "🇺🇸🇫🇷🇯🇵", "🇺", "1️⃣ 2️⃣", "#️⃣",
    "☺︎ ☺️", "🧑🏾‍🚀 astronaut", "cat🐱dog🐶", "emoji!🎉!", "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    # apostrophes and contractions
    "don't", "DON'T", "Don'T", "it's", "IT'S", "it’s", "IT’S", "we're", "WE'RE", "they've", "THEY'VE", "I'm", "I'M",
    "you'll", "YOU'LL", "he'd", "HE'D", "'s", "'S", "'t", "'re", "'ve", "'m", "'ll", "'d", "'", "''", "'''s",
    "cat's toy", "the cats' toys", "rock'n'roll", "O'Neil", "'sss's", "!'s", "'s!", "‘quoted’", "“double”",
    "`backtick`", "isn't it?", "y'all'd've", "'1", "'é", "'ş",
    # digits and numbers
    "0", "7", "42", "1234567890", "3.14159", "1,000,000", "-12.5e+10", "2024-01-15", "10:30pm", "v1.2.3",
    "½ ¼ ¾", "x² + y³", "Ⅻ ⅻ", "٠١٢٣ arabic-indic", "१२३ devanagari", "①②③", "𝟏𝟐𝟑", "a1b2c3", "abc123def",
    "99 bottles of beer", "０１２",
    # html entities and punctuation
    "&amp;", "fish &amp; chips", "it&#39;s", "&quot;quoted&quot;", "&lt;tag&gt;", "&nbsp;", "&#x27;", "&copy; 2024",
    "<b>bold</b>", "!!!", "???", "...", "!?!?", "--->", "<-->", "C++", "C#", "e-mail", "U.S.A.", "Mr. & Mrs.",
    "(parentheses)", "[brackets]", "{braces}", "a/b\\c", "50% off!!!", "$100 €50 £30 ¥20", "#hashtag @user",
    "http://example.com/path?q=1&r=2", "user@example.com", "~`!@#$%^&*()_+-={}[]|\\:;\"'<>,.?/",
    "—em dash– en dash", "«guillemets» „low“", "¿Qué? ¡Sí!", "。、「」", "•·…", "™®©", "°C ±5",
    # special tokens typed in text
    "<|startoftext|>", "<|endoftext|>", "<|startoftext|>hello<|endoftext|>", "a<|endoftext|>b",
    "a <|endoftext|> b", "<|endoftext|><|endoftext|>", "<|STARTOFTEXT|>", "<|ENDOFTEXT|>", "<|EndOfText|> x",
    "<|endoftext", "endoftext|>", "<|startoftext|  >", "x\u00a0<|endoftext|>\u00a0y", "<|endoftext|>’s",
    "<|endoftext|>'s", "<|startoftext|>.", "<<|endoftext|>>",
    # long texts
    "a photo of " + " ".join(["cat"] * 100),
    " ".join(str(i) for i in range(60)),
    "The quick brown fox jumps over the lazy dog. " * 8,
    "supercalifragilisticexpialidocious " * 10,
    "x" * 500,
    "🐱" * 40,
]


def random_texts(n=80, seed=1234):
    """Random mixtures of the pieces the grammar cares about (fixed seed)."""
    rng = random.Random(seed)
    pools = [
        "abcxyzABCXYZ", "0123456789", " \t\n\u00a0\u3000\u2009\r", "!?.,;:'\"-_/()[]&#%*+=<>|~`^$@",
        "\u0301\u0308\u0323\u0302\u030a", "éèêëñçøåßÉÑÅİıΣσς", "日本語中文한국어", "кошкаСОБАКА", "αβγΔΘ",
        "🐱🐶👍🏽❤️\u200d\ufe0f🇫🇷", "’‘“”…—–«»", "½²①Ⅻ٣", "\u200b\ufeff\u00ad\u0000\u007f",
    ]
    words = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "<|endoftext|>", "<|startoftext|>",
             "<|ENDOFTEXT|>", "&amp;", "&#39;", "photo", "cat", "don't"]
    texts = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.25:
                parts.append(rng.choice(words))
            else:
                pool = rng.choice(pools)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 5))))
        texts.append("".join(parts))
    return texts


def ranges(values):
    out = []
    for v in values:
        if out and out[-1][1] == v - 1:
            out[-1][1] = v
        else:
            out.append([v, v])
    return out


def unicode_tables():
    """Per code point, what tokenizers does: \\p{L}, \\p{N}, \\s membership (as ranges), Lowercase and NFC."""
    from tokenizers import Regex, normalizers, pre_tokenizers
    cps = [c for c in range(0x110000) if not (0xD800 <= c <= 0xDFFF)]
    everything = "".join(chr(c) for c in cps)

    def members(pattern):
        kept = set()
        split = pre_tokenizers.Split(Regex(pattern), behavior="removed")
        for piece, _ in split.pre_tokenize_str(everything):
            kept.update(ord(ch) for ch in piece)
        return ranges(sorted(set(cps) - kept))

    lower, nfc = normalizers.Lowercase(), normalizers.NFC()
    lower_map, nfc_map = {}, {}
    for c in cps:
        ch = chr(c)
        if (low := lower.normalize_str(ch)) != ch:
            lower_map[str(c)] = low
        if (n := nfc.normalize_str(ch)) != ch:
            nfc_map[str(c)] = n
    return {"letter": members(r"\p{L}"), "number": members(r"\p{N}"), "whitespace": members(r"\s"),
            "lowercase": lower_map, "nfc": nfc_map}


def corpus():
    texts = list(CORPUS) + random_texts()
    for i, label in enumerate(LABELS):
        texts.append(label)
        texts.append(TEMPLATES[i % len(TEMPLATES)].format(label))
    return list(dict.fromkeys(texts))  # first occurrence of each, in order


def encode(tok, text):
    ids = tok(text)["input_ids"]
    if len(ids) > MAX_LENGTH:
        return ids[: MAX_LENGTH - 1] + [tok.eos_token_id], True
    return ids, False


def main():
    layouts = build_layouts()
    texts = corpus()
    batch = ["a photo of a cat", "", "a much longer description of a golden retriever puppy", "🐶"]
    golden = {"max_length": MAX_LENGTH, "texts": texts, "layouts": {}}
    for name, directory in layouts.items():
        tok = CLIPTokenizer.from_pretrained(directory)
        cases = [encode(tok, t) for t in texts]
        enc = tok(batch, padding=True)
        golden["layouts"][name] = {
            "bos_token_id": tok.bos_token_id,
            "eos_token_id": tok.eos_token_id,
            "pad_token_id": tok.pad_token_id,
            "ids": [c[0] for c in cases],
            "truncated": [c[1] for c in cases],
            "batch": {"texts": batch, "input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]},
        }
        print(name, "cases", len(cases), "truncated", sum(c[1] for c in cases), "pad", tok.pad_token_id)
    with open(os.path.join(ROOT, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    with open(os.path.join(ROOT, "unicode.json"), "w", encoding="utf-8") as f:
        json.dump(unicode_tables(), f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
