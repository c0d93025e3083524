"""Generate a real-sized tokenizer.json with synthetic tokens, for the folder walk of bench_scale.py.

The document has the layout that the tokenizers library saves for a
byte-level BPE tokenizer (version, truncation, padding, added_tokens,
normalizer, pre_tokenizer, post_processor, decoder, and a model of type BPE
with vocab and merges), taken from the small tokenizer.json of
examples/make_model.py. Only the vocabulary and the merges are replaced, by
VOCAB_SIZE tokens built from pseudo-words and MERGE_COUNT merges. Each token
has one merge that builds it, and further merges list other splits of
it into two tokens, as a tokenizer converted from SentencePiece lists every
split. Merges are space-separated pairs, the form of older tokenizers
releases. tokenizers 0.23.3 loads the file, although it saves each pair as a
two-element list. The same seed gives the same bytes.

MERGE_COUNT brings the file to about 1.8 MB. The Hugging Face file listing of
TinyLlama-1.1B-Chat-v1.0, which uses the 32,000-token Llama 2 tokenizer, gives
its tokenizer.json as 1.84 MB. NOTE: the synthetic file was not compared with
that file beyond its size and layout. tokenizer_config.json next to it keeps
the token ids of the small tokenizer, which the folder walk does not check.
"""

from __future__ import annotations

import json
import random
import sys

import common

sys.path.insert(0, str(common.REPO_ROOT / "examples"))

import make_model  # noqa: E402  (examples/ is not a package)

VOCAB_SIZE = 32_000
MERGE_COUNT = 53_000
MAX_TOKEN_CHARS = 12

# The byte-level alphabet's character for the space byte, which starts the tokens of words that follow a space.
SPACE = "\u0120"
ONSETS = ("", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "y", "z",
          "bl", "br", "ch", "cl", "cr", "dr", "fl", "fr", "gr", "pl", "pr", "sc", "sh", "sl", "sp", "st", "str", "th", "tr", "wh")
VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ee", "io", "ou", "oo", "y")
CODAS = ("", "", "", "n", "r", "s", "t", "l", "d", "m", "ng", "nd", "nt", "st", "ck", "ll", "rs", "tion", "ment", "ing", "ed", "er", "ly")


def pseudo_word(rng: random.Random) -> str:
    """Return a pseudo-word of one to three syllables. One in ten is capitalized, and six in ten start with SPACE."""
    word = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(rng.choice((1, 1, 2, 2, 3))))
    if rng.random() < 0.1:
        word = word.capitalize()
    return SPACE + word if rng.random() < 0.6 else word


def build_vocabulary(seed: int, alphabet: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Return VOCAB_SIZE tokens with their ids, and MERGE_COUNT merges in the order of the tokens they build.

    The vocabulary starts with make_model's special tokens and the 256
    characters of the byte-level alphabet, then adds every prefix of
    pseudo-words, each built by the split whose right part is the longest
    token already known.
    """
    rng = random.Random(f"{seed}:tokenizer")
    vocab = {token: number for number, token in enumerate([*make_model.SPECIAL_TOKENS, *alphabet])}
    built: list[tuple[str, int]] = []
    while len(vocab) < VOCAB_SIZE:
        word = pseudo_word(rng)
        for end in range(2, min(len(word), MAX_TOKEN_CHARS) + 1):
            token = word[:end]
            if token in vocab:
                continue
            # A one-character right part is always known, so a split exists.
            split = next(position for position in range(1, end) if token[position:] in vocab)
            vocab[token] = len(vocab)
            built.append((token, split))
            if len(vocab) == VOCAB_SIZE:
                break

    if MERGE_COUNT < len(built):
        raise ValueError(f"MERGE_COUNT {MERGE_COUNT} is below the {len(built)} merges that build the vocabulary")
    spare = MERGE_COUNT - len(built)
    merges: list[tuple[str, str]] = []
    for token, split in built:
        merges.append((token[:split], token[split:]))
        for position in range(1, len(token)):
            if spare and position != split and token[:position] in vocab and token[position:] in vocab:
                merges.append((token[:position], token[position:]))
                spare -= 1
    if spare:
        raise ValueError(f"the vocabulary has {MERGE_COUNT - spare} merges, fewer than MERGE_COUNT {MERGE_COUNT}")
    return vocab, merges


def tokenizer_json_bytes(seed: int) -> bytes:
    """Return the tokenizer.json document as the tokenizers library saves it: two-space indent, UTF-8, no final newline."""
    document = make_model.tokenizer_json()
    small_vocab = document["model"]["vocab"]
    # Every token of one character in a byte-level vocabulary is one of the 256 byte characters.
    alphabet = sorted((token for token in small_vocab if len(token) == 1), key=small_vocab.get)
    vocab, merges = build_vocabulary(seed, alphabet)

    # Tokens added after training follow the vocabulary, as in make_model.
    added_after = {token: len(vocab) + offset for offset, token in enumerate(make_model.CHAT_TOKENS)}
    for added in document["added_tokens"]:
        added["id"] = vocab.get(added["content"], added_after.get(added["content"]))
    document["model"] = {**document["model"], "vocab": vocab, "merges": [f"{left} {right}" for left, right in merges]}
    return json.dumps(document, indent=2, ensure_ascii=False).encode()
