"""CLIP's BPE vocabulary in Hugging Face layout (vocab.json + merges.txt), derived from OpenAI's
`bpe_simple_vocab_16e6.txt.gz`, which ships inside the `open-clip-torch` wheel.

The derivation is the published one: the 256 byte symbols, the same with the `</w>` end-of-word marker, one
entry per merge, then `<|startoftext|>` and `<|endoftext|>`. With all 48,894 merges this reproduces the public
49,408-token vocabulary and its ids; with fewer merges it gives a smaller vocabulary with the same grammar,
used by the tiny test checkpoints.
"""
import gzip
import json
import os
from importlib import resources

FULL_MERGES = 49152 - 256 - 2


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def openai_merges():
    path = resources.files("open_clip") / "bpe_simple_vocab_16e6.txt.gz"
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").split("\n")
    return [tuple(line.split()) for line in lines[1 : FULL_MERGES + 1]]


def vocab_and_merges(n_merges=None):
    merges = openai_merges()
    if n_merges is not None:
        merges = merges[:n_merges]
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}, merges


def write_vocab(directory, n_merges=None):
    """Writes vocab.json and merges.txt into `directory`; returns the vocabulary size."""
    os.makedirs(directory, exist_ok=True)
    vocab, merges = vocab_and_merges(n_merges)
    with open(os.path.join(directory, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(directory, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    return len(vocab)


def save_tokenizer(directory, n_merges=None):
    """Writes the CLIP vocabulary to `directory`/_vocab and saves a `CLIPTokenizer` (model_max_length 77) built
    from it into `directory` (tokenizer.json and configs), with the load-time keys `is_local` and
    `local_files_only` dropped from tokenizer_config.json. Returns (vocab directory, vocabulary size, tokenizer);
    the caller moves what it wants of the vocab directory and removes it."""
    from transformers import CLIPTokenizer

    src = os.path.join(directory, "_vocab")
    size = write_vocab(src, n_merges=n_merges)
    tokenizer = CLIPTokenizer.from_pretrained(src, model_max_length=77)
    tokenizer.save_pretrained(directory)
    cfg_path = os.path.join(directory, "tokenizer_config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    for k in ("is_local", "local_files_only"):
        cfg.pop(k, None)
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    return src, size, tokenizer
