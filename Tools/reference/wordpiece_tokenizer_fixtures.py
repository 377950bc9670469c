"""Golden token ids for the Swift BERT WordPiece tokenizer and AutoTokenizer, from transformers 5.24's AutoTokenizer.

Writes under Tests/Fixtures/wordpiece/:
  vocab.txt           the real 21,128-token Chinese BERT vocabulary (Chinese-CLIP's), from PyPI cn-clip 1.6.0
                      (cn_clip/clip/vocab.txt).
  subset.txt          a 2,000-odd token subset of it (the tokens the corpus needs under the full vocabulary, the
                      special and single-character tokens of a seeded sample), renumbered from 0, for the
                      tokenizer.json layouts (a full tokenizer.json is 440 KB).
  <layout>/           one tokenizer directory per layout: slow layouts hold a vocab.txt symlink to ../vocab.txt and a
                      tokenizer_config.json (do_lower_case / strip_accents / tokenize_chinese_chars variants, special
                      tokens, never_split, model_max_length, model_input_names, truncation_side; config.json
                      model_type instead of tokenizer_class); tokenizer.json layouts hold what transformers'
                      BertTokenizer.save_pretrained writes for the subset vocabulary, some with the pipeline edited
                      (BertTokenizer ignores it; TokenizersBackend / PreTrainedTokenizerFast run it); json-generic-bpe
                      runs CLIP's BPE tokenizer.json of Tests/Fixtures/tokenizers/small-json (a symlink) as
                      TokenizersBackend.
  golden.json         per layout: the class AutoTokenizer picks, pad_token_id, model_max_length (null for the 1e30
                      sentinel), model_input_names, `tokenizer(text).input_ids` for every text (the fixed corpus and
                      100 seeded random texts mixing scripts, marks, punctuation, spaces, controls, emoji, special
                      tokens and any code point), and
                      `tokenizer(text, truncation=True, max_length=n).input_ids` for some texts and lengths.
  pretokenizers.json  the words of BertPreTokenizer, Whitespace, WhitespaceSplit, Digits, Punctuation and Split (string
                      and regex patterns, inverted or not) under every split behavior, on short texts.
  unicode.json        for every code point, what tokenizers' BertNormalizer and BertPreTokenizer do with it alone:
                      removed by clean_text, turned into a space, padded as a Chinese character, split off as
                      punctuation, split on as whitespace (ranges); the code points stripping accents changes
                      (ranges) with an FNV-1a checksum of their results; and the ones the Digits pre-tokenizer
                      splits off and the Whitespace pre-tokenizer keeps inside a word (its \\w); for NFC, NFD, NFKC
                      and NFKD, the code points each changes (ranges) with a checksum of the results, and a few
                      sequences around the characters tokenizers' normalization tables lack.

Run: python Tools/reference/wordpiece_tokenizer_fixtures.py
"""
import copy
import json
import os
import random
import shutil
import tempfile
from importlib import resources

from tokenizers import Tokenizer, normalizers, pre_tokenizers
from transformers import AutoTokenizer, BertTokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "wordpiece"))
VOCAB_SOURCE = str(resources.files("cn_clip").joinpath("clip", "vocab.txt"))

LABELS = ["猫", "狗", "火箭", "飞机", "汽车", "自行车", "鸟", "鱼", "马", "大象", "长颈鹿", "熊猫", "老虎", "狮子", "兔子",
          "苹果", "香蕉", "橙子", "西瓜", "草莓", "蛋糕", "面条", "饺子", "寿司", "咖啡", "茶", "玫瑰", "向日葵",
          "埃菲尔铁塔", "长城", "故宫", "天安门", "上海外滩", "东方明珠", "金毛寻回犬", "暹罗猫", "哈士奇", "柯基犬",
          "电脑", "手机", "iPhone", "T恤", "iPad Pro", "5G手机", "3D打印机", "NBA球星", "可口可乐", "宝马X5",
          "皮卡丘", "哆啦A梦", "蜘蛛侠", "米老鼠", "机器人", "无人机", "高铁", "地铁站", "医院", "学校"]
TEMPLATES = ["一张{}的照片。", "{}", "a photo of a {}.", "这是一张{}的特写图片！"]

CORPUS = [
    "", " ", "   ", "\t", "\n", " \t\n\r ", "\u3000", "\u00a0", "\u2028", "a", "A", "猫", "。",
    "hello world", "Hello World", "HELLO WORLD", "hello   world", "hello\tworld\nnew\r\nline",
    "北京Beijing 2008奥运会", "2024年12月31日星期二", "COVID-19疫苗接种", "Hello, 世界!", "价格：￥1,299.00元",
    "iPhone 15 Pro Max 256GB", "第3.14159次", "1234567890", "12.5%的增长", "v1.2.3版本", "ABC-123型号",
    "你好，世界！（测试）【标签】「引号」《书名》", "……——～", "“中文引号”和‘单引号’", "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ　１２３",
    "ＡＢＣ１２３，。", "ｶﾀｶﾅ", "Café", "cafe\u0301", "CAFÉ", "naïve résumé", "Ångström", "A\u030angstro\u0308m",
    "İstanbul ıi", "ΣΊΣΥΦΟΣ σας", "Straße", "ﬁnance", "Ǆemal", "e\u0323\u0302", "\u0301alone", "Tiếng Việt",
    "über Äpfel", "jalapeño", "crème brûlée", "Ⅻ ⅻ ① ½", "x² + y³",
    "🐱猫咪😀", "👨‍👩‍👧", "I ❤️ 北京", "👍🏽", "🇨🇳🇺🇸", "cat🐱dog",
    "a\u0000b\u0007c\u200bd\ufeffe\ufffdf", "tab\tand\u000bvt\u000cff", "del\u007fx", "nel\u0085x", "\u00adsoft hyphen",
    "\ue000private", "\U000f0000plane15", "\U000e0001tag", "\u0378unassigned", "a\u2028b\u2029c",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ꙮ", "한국어 텍스트", "ひらがな カタカナ", "Русский текст", "ภาษาไทย", "العربية", "हिन्दी",
    "𠀀𠀁𪜀", "\U0002b739\U0002b740\U0002b820\U0002ceb0\U0002ebf0\U00030000", "㐀䶵", "豈﨩", "⺀⼀", "〇",
    "a" * 99, "a" * 100, "a" * 101, "超" * 150, "x" * 150 + " 猫", "unbelievable" * 9, "深度学习" + "z" * 120,
    "[CLS] 猫 [SEP]", "[MASK]", "[mask]", "一张 [MASK] 的照片", "a <Photo> of <photo>, <PHOTO>x<Photo>", "[unused1]", "[UNK]", "[PAD][CLS]", "a[SEP]b", "<extra> 猫 <extra>",
    "hello HELLO Hello", "don't stop", "it's 5 o'clock", "e-mail: test@example.com", "https://www.example.com/a?b=c",
    "#hashtag @user $100 &amp; 50%", "(括号) [方括号] {花括号}", "\\反斜杠/斜杠", "___", "...", "?!", "'\"",
    "这是一个很长的句子，用来测试截断：" + "我们在中文里面混合一些English words和数字123，" * 3,
]

LONG_TEXTS = ["一张猫的照片。", "这是一张金毛寻回犬的图片。", "北京Beijing 2008奥运会", "",
              "这是一个很长的句子，用来测试截断：" + "我们在中文里面混合一些English words和数字123，" * 3]
MAX_LENGTHS = [0, 1, 2, 3, 5, 16, 52]


# Pools for the seeded random texts: characters each part of the pipeline treats differently.
POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "一张猫的照片狗火箭飞机汽车北京上海中国人大小",
    "áéíóúàèìòùâêîôûäëïöüçñÁÉÍÓÚÀÈÌÒÙÂÊÎÔÛÄËÏÖÜÇÑåøæœßİıŁł",
    "\u0300\u0301\u0302\u0308\u0327\u0323\u064b\u0610\u093c\u0e31\u20d0",
    ".,;:!?'\"()[]{}<>-_/\\@#$%^&*+=~`|，。！？；：（）【】「」《》、…—",
    " \t\n\r\u3000\u00a0\u2028\u200b\u200d\ufeff\u0000\u0007\u007f\u0085",
    "😀🐱👍🏽❤️🇨🇳",
    "ｆｕｌｌＡＢＣ１２３①½Ⅻ²³٣४",
]


def random_texts(n, seed):
    """Short texts mixing the pools, any code point (5%) and special tokens or words (5%)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(0, 12)):
            r = rng.random()
            if r < 0.05:
                c = rng.randint(0, 0x10FFFF)
                parts.append(chr(c if not 0xD800 <= c <= 0xDFFF else 0x41))
            elif r < 0.1:
                parts.append(rng.choice(["[CLS]", "[SEP]", "[MASK]", "<extra>", "hello", "photo", "照片"]))
            else:
                parts.append(rng.choice(rng.choice(POOLS)))
        out.append("".join(parts))
    return out


def texts():
    out = []
    for t in TEMPLATES:
        for label in LABELS:
            out.append(t.replace("{}", label))
    return out + CORPUS


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def slow_layout(name, config=None, model_config=None, special_map=None):
    d = os.path.join(ROOT, name)
    os.makedirs(d)
    os.symlink("../vocab.txt", os.path.join(d, "vocab.txt"))
    if config is not None:
        write_json(os.path.join(d, "tokenizer_config.json"), config)
    if model_config is not None:
        write_json(os.path.join(d, "config.json"), model_config)
    if special_map is not None:
        write_json(os.path.join(d, "special_tokens_map.json"), special_map)
    return d


def read_vocab(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def subset_vocab(full_dir, corpus):
    """The tokens the corpus needs under the full vocabulary, plus specials and a seeded sample."""
    tok = AutoTokenizer.from_pretrained(full_dir)
    vocab = read_vocab(os.path.join(ROOT, "vocab.txt"))
    keep = set(range(106))  # [PAD], [unused*], [UNK], [CLS], [SEP], [MASK], ...
    for text in corpus:
        keep.update(tok(text).input_ids)
        keep.update(tok(text.lower()).input_ids)
    rng = random.Random(9)
    keep.update(rng.sample(range(len(vocab)), 1200))
    return [vocab[i] for i in sorted(keep)]


def json_layout(name, base_json, base_config, edit_json=None, config=None, model_config=None):
    d = os.path.join(ROOT, name)
    os.makedirs(d)
    tj = copy.deepcopy(base_json)
    if edit_json:
        edit_json(tj)
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
        f.write("\n")
    cfg = copy.deepcopy(base_config) if config is None else config
    if cfg is not None:
        write_json(os.path.join(d, "tokenizer_config.json"), cfg)
    if model_config is not None:
        write_json(os.path.join(d, "config.json"), model_config)
    return d


def build_layouts(corpus):
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    shutil.copy(VOCAB_SOURCE, os.path.join(ROOT, "vocab.txt"))
    layouts = {}
    # Chinese-CLIP's own repos: vocab.txt + tokenizer_config.json naming BertTokenizer.
    layouts["cn-default"] = slow_layout("cn-default", {"tokenizer_class": "BertTokenizer", "do_lower_case": True,
                                                       "model_max_length": 512})
    layouts["cn-cased"] = slow_layout("cn-cased", {"tokenizer_class": "BertTokenizerFast", "do_lower_case": False})
    layouts["cn-lower-keep-accents"] = slow_layout(
        "cn-lower-keep-accents", {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "strip_accents": False})
    layouts["cn-cased-strip-accents"] = slow_layout(
        "cn-cased-strip-accents", {"tokenizer_class": "BertTokenizer", "do_lower_case": False, "strip_accents": True})
    layouts["cn-no-chinese-split"] = slow_layout(
        "cn-no-chinese-split", {"tokenizer_class": "BertTokenizer", "tokenize_chinese_chars": False})
    # No tokenizer_class: config.json's model_type picks BertTokenizer; never_split has no effect in transformers 5.
    layouts["cn-model-type"] = slow_layout(
        "cn-model-type", {"do_lower_case": True, "never_split": ["HELLO", "[unused1]"], "model_max_length": 52},
        model_config={"model_type": "chinese_clip"})
    # Special tokens from special_tokens_map.json (legacy), an extra special token absent from the vocabulary,
    # model_input_names and truncation_side.
    layouts["cn-special-tokens"] = slow_layout(
        "cn-special-tokens",
        {"tokenizer_class": "DistilBertTokenizer", "model_input_names": ["input_ids", "attention_mask"],
         "truncation_side": "left", "model_max_length": 1000000000000000019884624838656},
        special_map={"unk_token": "[unused2]", "pad_token": "[unused3]", "cls_token": "[unused4]",
                     "sep_token": "[unused5]", "additional_special_tokens": ["<extra>"]})

    # tokenizer_config.json as transformers 4 saved it (Hub repos of Chinese-CLIP): added_tokens_decoder with the
    # special tokens' ids and flags, plus a normalized added token outside the vocabulary and [MASK] with lstrip.
    def added(content, special=True, normalized=False, lstrip=False):
        return {"content": content, "lstrip": lstrip, "normalized": normalized, "rstrip": False, "single_word": False,
                "special": special}
    layouts["cn-v4-config"] = slow_layout("cn-v4-config", {
        "added_tokens_decoder": {"0": added("[PAD]"), "100": added("[UNK]"), "101": added("[CLS]"),
                                 "102": added("[SEP]"), "103": added("[MASK]", lstrip=True),
                                 "21128": added("<Photo>", special=False, normalized=True)},
        "clean_up_tokenization_spaces": True, "cls_token": "[CLS]", "do_basic_tokenize": True, "do_lower_case": True,
        "mask_token": "[MASK]", "model_max_length": 1000000000000000019884624838656, "never_split": None,
        "pad_token": "[PAD]", "sep_token": "[SEP]", "strip_accents": None, "tokenize_chinese_chars": True,
        "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]"})

    full = layouts["cn-default"]
    words = subset_vocab(full, corpus)
    with open(os.path.join(ROOT, "subset.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(words) + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(os.path.join(ROOT, "subset.txt"), os.path.join(tmp, "vocab.txt"))
        write_json(os.path.join(tmp, "tokenizer_config.json"), {"tokenizer_class": "BertTokenizer"})
        BertTokenizer.from_pretrained(tmp).save_pretrained(os.path.join(tmp, "saved"))
        with open(os.path.join(tmp, "saved", "tokenizer.json"), encoding="utf-8") as f:
            base_json = json.load(f)
        with open(os.path.join(tmp, "saved", "tokenizer_config.json"), encoding="utf-8") as f:
            base_config = json.load(f)
    for key in ("is_local", "local_files_only"):
        base_config.pop(key, None)

    def edited(tj):
        tj["normalizer"]["lowercase"] = False
        tj["normalizer"]["handle_chinese_chars"] = False
        tj["pre_tokenizer"] = {"type": "WhitespaceSplit"}
        tj["model"]["max_input_chars_per_word"] = 4
        tj["post_processor"] = {"type": "BertProcessing", "sep": ["[SEP]", 102], "cls": ["[MASK]", 103]}

    def custom(tj):
        tj["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None,
             "lowercase": False},
            {"type": "NFD"}, {"type": "Lowercase"}, {"type": "StripAccents"}]}
        tj["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Isolated"},
            {"type": "Digits", "individual_digits": True}]}
        tj["model"]["max_input_chars_per_word"] = 10
        tj["post_processor"] = {"type": "BertProcessing", "sep": ["[SEP]", 102], "cls": ["[CLS]", 101]}

    def whitespace(tj):
        tj["normalizer"] = {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": False,
                            "strip_accents": True, "lowercase": True}
        tj["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Whitespace"}, {"type": "Digits", "individual_digits": False}]}
        tj["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"SpecialToken": {"id": "[MASK]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [101], "tokens": ["[CLS]"]},
                               "[MASK]": {"id": "[MASK]", "ids": [103], "tokens": ["[MASK]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [102], "tokens": ["[SEP]"]}}}
        tj["truncation"] = {"direction": "Left", "max_length": 512, "strategy": "LongestFirst", "stride": 0}

    def punctuation_runs(tj):
        tj["normalizer"] = {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                            "strip_accents": None, "lowercase": True}
        tj["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Contiguous"}]}
        tj["post_processor"] = None
        tj["padding"] = {"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": None, "pad_id": 1,
                         "pad_type_id": 0, "pad_token": "[unused1]"}

    ids = {t: i for i, t in enumerate(words)}
    assert ids["[CLS]"] == 101 and ids["[SEP]"] == 102 and ids["[MASK]"] == 103  # the subset keeps ids below 106

    layouts["json-bert"] = json_layout("json-bert", base_json, base_config)
    layouts["json-bert-edited"] = json_layout("json-bert-edited", base_json, base_config, edited)
    generic = dict(base_config, tokenizer_class="PreTrainedTokenizerFast")
    layouts["json-generic"] = json_layout("json-generic", base_json, base_config, config=generic)
    layouts["json-generic-edited"] = json_layout("json-generic-edited", base_json, base_config, edited,
                                                 config=dict(base_config, tokenizer_class="TokenizersBackend"))
    layouts["json-generic-sequence"] = json_layout("json-generic-sequence", base_json, base_config, custom,
                                                   config=generic)
    # No tokenizer_config.json and no config.json: TokenizersBackend.
    layouts["json-generic-whitespace"] = json_layout("json-generic-whitespace", base_json, None, whitespace, config=None)
    layouts["json-generic-no-post"] = json_layout("json-generic-no-post", base_json, None, punctuation_runs,
                                                  config={"tokenizer_class": "PreTrainedTokenizerFast"})
    # model_type chinese_clip with a tokenizer_config.json naming another known class: the Hub's class wins.
    layouts["json-hub-class-wins"] = json_layout("json-hub-class-wins", base_json, base_config, edited,
                                                 config=dict(base_config, tokenizer_class="PreTrainedTokenizerFast"),
                                                 model_config={"model_type": "chinese_clip"})
    # CLIP's byte-level BPE tokenizer.json (Tests/Fixtures/tokenizers/small-json) run as declared by
    # TokenizersBackend: NFC, whitespace runs, lowercase, CLIP's Split pattern, ByteLevel, BPE with </w>, Roberta.
    d = os.path.join(ROOT, "json-generic-bpe")
    os.makedirs(d)
    os.symlink("../../tokenizers/small-json/tokenizer.json", os.path.join(d, "tokenizer.json"))
    write_json(os.path.join(d, "tokenizer_config.json"), {"tokenizer_class": "PreTrainedTokenizerFast",
                                                          "pad_token": "<|endoftext|>", "model_max_length": 77})
    layouts["json-generic-bpe"] = d
    return layouts


def golden(layouts, corpus):
    out = {"texts": corpus, "long_texts": LONG_TEXTS, "max_lengths": MAX_LENGTHS, "layouts": {}}
    for name, d in sorted(layouts.items()):
        tok = AutoTokenizer.from_pretrained(d)
        mml = tok.model_max_length
        entry = {
            "class": type(tok).__name__,
            "pad_token_id": tok.pad_token_id,
            "model_max_length": mml if mml < int(1e20) else None,
            "model_input_names": list(tok.model_input_names),
            "ids": [tok(t).input_ids for t in corpus],
            "truncated": [[tok(t, truncation=True, max_length=n).input_ids for n in MAX_LENGTHS] for t in LONG_TEXTS],
        }
        out["layouts"][name] = entry
        print(f"{name}: {entry['class']}, pad {entry['pad_token_id']}, {entry['model_max_length']}, "
              f"{entry['model_input_names']}")
    with open(os.path.join(ROOT, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def ranges(xs):
    out = []
    for x in xs:
        if out and out[-1][1] == x - 1:
            out[-1][1] = x
        else:
            out.append([x, x])
    return out


def fnv1a(data, h=0xcbf29ce484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def unicode_tables():
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False,
                                       lowercase=False)
    chinese = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False,
                                         lowercase=False)
    accents = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True,
                                         lowercase=False)
    pre = pre_tokenizers.BertPreTokenizer()
    digits = pre_tokenizers.Digits(individual_digits=True)
    whitespace = pre_tokenizers.Whitespace()
    sets = {"removed": [], "space": [], "chinese": [], "punctuation": [], "whitespace": [], "accents": [],
            "digits": [], "word": []}
    h = 0xcbf29ce484222325
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        r = clean.normalize_str(ch)
        if r == "":
            sets["removed"].append(c)
        elif r == " " and ch != " ":
            sets["space"].append(c)
        if chinese.normalize_str(ch) == " " + ch + " ":
            sets["chinese"].append(c)
        a = accents.normalize_str(ch)
        if a != ch:
            sets["accents"].append(c)
            h = fnv1a(f"{c}:{a};".encode("utf-8"), h)
        words = [w for w, _ in pre.pre_tokenize_str("a" + ch + "b")]
        if words == ["a", ch, "b"]:
            sets["punctuation"].append(c)
        elif words == ["a", "b"]:
            sets["whitespace"].append(c)
        elif words != ["a" + ch + "b"]:
            raise AssertionError(f"U+{c:04X}: {words}")
        if [w for w, _ in digits.pre_tokenize_str("a" + ch + "b")] == ["a", ch, "b"]:
            sets["digits"].append(c)
        if [w for w, _ in whitespace.pre_tokenize_str("a" + ch + "b")] == ["a" + ch + "b"]:
            sets["word"].append(c)
    out = {k: ranges(v) for k, v in sets.items()}
    out["accents_fnv1a"] = f"{h:016x}"
    # The four normalization forms: the code points each changes (ranges) and a checksum of the results; and a
    # few sequences around the characters whose mappings tokenizers' tables lack.
    forms = {}
    for name in ["NFC", "NFD", "NFKC", "NFKD"]:
        form = getattr(normalizers, name)()
        changed, fh = [], 0xcbf29ce484222325
        for c in range(0x110000):
            if 0xD800 <= c <= 0xDFFF:
                continue
            r = form.normalize_str(chr(c))
            if r != chr(c):
                changed.append(c)
                fh = fnv1a(f"{c}:{r};".encode("utf-8"), fh)
        forms[name] = {"changed": ranges(changed), "fnv1a": f"{fh:016x}"}
    out["forms"] = forms
    sequences = ["\U00011935\U00011930", "a\U00011935\U00011930\u0301", "\U00011938\u0301", "e\u0301\u32ff\u0301",
                 "\U00010781\u0308x\u0323\u0302", "\ufb01\u32ff\u2460", "\U0001fbf0\u00bd", "\u1100\u1161\U00011938"]
    out["sequences"] = [{"text": t, **{name: getattr(normalizers, name)().normalize_str(t)
                                       for name in ["NFC", "NFD", "NFKC", "NFKD"]}} for t in sequences]
    with open(os.path.join(ROOT, "unicode.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


PRE_TOKENIZER_TEXTS = ["a,b", ",a,,b,", "!!hello!!", "x.y.z", "...", "no punct", "(a)[b]{c}", "", ",", "a,", ",a",
                       "a  b", "  x  ", "a-b--c---", "-a", "12ab345c6", "价格：￥1,299.00元", "Hello, 世界! 你好。",
                       "it's   e-mail\tand\nnew", "①½Ⅻ ٣४ x²", "don't-stop--now"]


def pre_tokenizer_table():
    """Words of each pre-tokenizer, declared as tokenizer.json declares it, on short texts."""
    specs = [{"type": "BertPreTokenizer"}, {"type": "Whitespace"}, {"type": "WhitespaceSplit"},
             {"type": "Digits", "individual_digits": True}, {"type": "Digits", "individual_digits": False}]
    for behavior in ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"]:
        specs.append({"type": "Punctuation", "behavior": behavior})
        specs.append({"type": "Split", "pattern": {"String": "-"}, "behavior": behavior, "invert": False})
        specs.append({"type": "Split", "pattern": {"Regex": "\\s"}, "behavior": behavior, "invert": False})
        specs.append({"type": "Split", "pattern": {"Regex": "[a-z]+"}, "behavior": behavior, "invert": True})
    cases = []
    for spec in specs:
        pre = Tokenizer.from_str(json.dumps({"version": "1.0", "model": {"type": "WordLevel", "vocab": {"a": 0},
                                                                          "unk_token": "a"},
                                             "pre_tokenizer": spec})).pre_tokenizer
        cases.append({"pre_tokenizer": spec,
                      "words": [[w for w, _ in pre.pre_tokenize_str(t)] for t in PRE_TOKENIZER_TEXTS]})
    with open(os.path.join(ROOT, "pretokenizers.json"), "w", encoding="utf-8") as f:
        json.dump({"texts": PRE_TOKENIZER_TEXTS, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    corpus = texts()
    layouts = build_layouts(corpus)  # the subset vocabulary covers the fixed texts
    golden(layouts, corpus + random_texts(100, seed=5))
    pre_tokenizer_table()
    unicode_tables()


if __name__ == "__main__":
    main()
