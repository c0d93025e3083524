#!/usr/bin/env python3
"""Write a Hugging Face style model directory of a chosen size, for tests and benchmarks.

The output has the files that ``save_pretrained`` writes for a sharded Llama
checkpoint in bfloat16: ``config.json``, ``generation_config.json``, a small
byte-level BPE tokenizer (``tokenizer.json``, ``tokenizer_config.json``,
``special_tokens_map.json``), ``model.safetensors.index.json`` and the shards
``model-00001-of-0000N.safetensors``. The model geometry (hidden size, layers,
vocabulary) is derived from the requested size. The tensor data is
pseudorandom, so it does not compress, and no two shards share content except
the ones that a fine-tuned copy takes over from its base.

Usage:
    python examples/make_model.py OUT_DIR [--size 64M] [--shards 4]
        [--finetune FT_DIR] [--changed 1] [--seed 0] [--check] [-v]

Only the standard library is used. The output depends on nothing but the
arguments, so the same arguments give byte-identical files on any machine.
"""

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import struct
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

INDEX_NAME = "model.safetensors.index.json"

DTYPE = "BF16"
BYTES_PER_ELEMENT = 2

# Large enough that the per-block cost of a hash call is negligible, small
# enough that peak memory stays a few times this size.
BLOCK_SIZE = 4 << 20

# MAX_HEADER_SIZE of the reference safetensors crate (Rust), which rejects larger headers.
MAX_HEADER_BYTES = 100_000_000

SAFETENSORS_DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}

SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
SIZE_PATTERN = re.compile(r"(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:iB)?)?", re.IGNORECASE)

# Candidate hidden sizes, smallest first. From 1024 up they are those of real
# decoder models. The tiny ones let small test sizes have several layers.
HIDDEN_SIZES = (16, 32, 64, 128, 256, 512, 768, 1024, 1536, 2048, 2560, 3072, 4096, 5120, 6144, 8192)

# The version written into config files, as save_pretrained records its own version.
TRANSFORMERS_VERSION = "4.46.0"
MAX_POSITION_EMBEDDINGS = 4096

# In the bfloat16 high byte (sign and top 7 exponent bits), 0x7F and 0xFF are the
# only values that can form Inf or NaN. Mapping them one step down keeps every
# element finite and costs under 1% of the high byte's entropy.
FINITE_BF16_HIGH_BYTE = bytes(value - 1 if value & 0x7F == 0x7F else value for value in range(256))


@dataclass(frozen=True)
class ModelShape:
    """Dimensions of a Llama-architecture decoder."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int

    def tensors(self) -> list[tuple[str, list[int]]]:
        """Return (name, shape) for every weight, in PyTorch state_dict order."""
        hidden = self.hidden_size
        kv_dim = self.num_key_value_heads * self.head_dim
        tensors = [("model.embed_tokens.weight", [self.vocab_size, hidden])]
        for layer in range(self.num_hidden_layers):
            prefix = f"model.layers.{layer}"
            tensors += [
                (f"{prefix}.self_attn.q_proj.weight", [hidden, hidden]),
                (f"{prefix}.self_attn.k_proj.weight", [kv_dim, hidden]),
                (f"{prefix}.self_attn.v_proj.weight", [kv_dim, hidden]),
                (f"{prefix}.self_attn.o_proj.weight", [hidden, hidden]),
                (f"{prefix}.mlp.gate_proj.weight", [self.intermediate_size, hidden]),
                (f"{prefix}.mlp.up_proj.weight", [self.intermediate_size, hidden]),
                (f"{prefix}.mlp.down_proj.weight", [hidden, self.intermediate_size]),
                (f"{prefix}.input_layernorm.weight", [hidden]),
                (f"{prefix}.post_attention_layernorm.weight", [hidden]),
            ]
        tensors.append(("model.norm.weight", [hidden]))
        tensors.append(("lm_head.weight", [self.vocab_size, hidden]))
        return tensors


def parse_size(text: str) -> int:
    """Parse a byte count such as ``4096``, ``64M``, ``1.5G`` or ``2GiB``.

    K, M, G and T are binary units (KiB, MiB, GiB, TiB). Raises ValueError on
    any other text.
    """
    match = SIZE_PATTERN.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"invalid size {text!r}: expected a number of bytes with an optional "
            "K, M, G or T suffix (binary units), for example 64M or 4G"
        )
    number, unit = match.groups()
    whole, _, fraction = number.partition(".")
    scale = SIZE_UNITS[(unit or "").upper()]
    # Integer arithmetic keeps large sizes such as 1.1T exact.
    return (int(whole + fraction) * scale) // (10 ** len(fraction))


# ---------------------------------------------------------------------------
# Model geometry


def _attention_geometry(hidden: int) -> tuple[int, int, int, int]:
    """Return (heads, key-value heads, head_dim, intermediate_size) for a hidden size.

    Head sizes follow Llama (64 for small models, 128 from 1024 up), with
    grouped-query attention at 4 query heads per key-value head. The MLP width
    is 8/3 of the hidden size, rounded up as Llama 2 rounds 4096 to 11008.
    """
    if hidden < 64:
        head_dim = hidden
    elif hidden < 1024:
        head_dim = 64
    else:
        head_dim = 128
    heads = hidden // head_dim
    kv_heads = max(1, heads // 4)
    multiple = min(hidden, 128)
    intermediate = -(-8 * hidden // (3 * multiple)) * multiple
    return heads, kv_heads, head_dim, intermediate


def plan_model(total_elements: int, shards: int) -> ModelShape:
    """Choose a Llama geometry whose weights have about ``total_elements`` elements.

    The result is the largest hidden size that still gives at least
    max(2, hidden_size / 256) layers, with no tensor larger than one shard's
    share, so that the shards come out roughly equal. The vocabulary size
    absorbs the remainder, which puts the total within ``hidden_size``
    elements of the request. Raises ValueError when no geometry fits the size
    and shard count.
    """
    if shards < 1:
        raise ValueError(f"invalid shard count {shards}: expected 1 or more")
    shape = _fit_shape(total_elements, shards)
    if shape is None:
        size_bytes = total_elements * BYTES_PER_ELEMENT
        next_size = _format_size(_next_fitting_size(size_bytes, shards))
        raise ValueError(
            f"size {size_bytes} bytes cannot be split into {shards} shards: "
            f"the next size that can is {next_size}, or use fewer shards"
        )
    return shape


def _fit_shape(total_elements: int, shards: int) -> ModelShape | None:
    """Return plan_model's geometry, or None when no hidden size fits."""
    vocab_min = len(_tokenizer_vocabulary()[0]) + len(CHAT_TOKENS)
    max_tensor = total_elements // shards
    # By their config.json, Llama 2 7B, Llama 3 8B and TinyLlama 1.1B put 2-7%
    # of their weights in each of the embedding and the LM head. With many
    # shards the share drops further, so that neither tensor outgrows a shard.
    vocab_fraction = min(0.05, 0.5 / shards)

    for hidden in reversed(HIDDEN_SIZES):
        heads, kv_heads, head_dim, intermediate = _attention_geometry(hidden)
        kv_dim = kv_heads * head_dim
        layer_elements = hidden * (2 * hidden + 2 * kv_dim + 3 * intermediate + 2)
        vocab_max = max_tensor // hidden
        # Layer tensors of at most a third of a share kept the largest shard
        # within 1.55x of the smallest in a sweep of 3,700 size and shard
        # count pairs (64K to 1T, 1 to 200 shards).
        if 3 * intermediate * hidden > max_tensor or vocab_max < vocab_min:
            continue

        # Layers take what the two vocabulary tensors and the final norm leave.
        available = total_elements - hidden
        layers_low = max(math.ceil((available - 2 * vocab_max * hidden) / layer_elements), 1)
        layers_high = (available - 2 * vocab_min * hidden) // layer_elements
        layers_target = round(total_elements * (1 - 2 * vocab_fraction) / layer_elements)
        layers = min(max(layers_target, layers_low), layers_high)
        if layers_low > layers_high or layers < max(2, hidden // 256):
            continue

        vocab = round((available - layers * layer_elements) / (2 * hidden))
        vocab = min(max(vocab, vocab_min), vocab_max)
        return ModelShape(hidden, layers, heads, kv_heads, head_dim, intermediate, vocab)
    return None


def _next_fitting_size(size_bytes: int, shards: int) -> int:
    """Return the smallest whole-KiB size above ``size_bytes`` that plan_model accepts.

    Sizes that fit do not form one interval: near the minimum, some sizes fall
    between layer counts. A bisection finds a lower bound, then a scan in
    1 KiB steps finds the first size that really fits.
    """
    def fits(kib: int) -> bool:
        return _fit_shape((kib << 10) // BYTES_PER_ELEMENT, shards) is not None

    high = 1
    while not fits(high):
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle
    kib = max(high, (size_bytes >> 10) + 1)
    while not fits(kib):
        kib += 1
    return kib << 10


def _format_size(size_bytes: int) -> str:
    """Format a byte count with the largest binary unit that divides it, as parse_size reads it."""
    for unit in ("T", "G", "M", "K"):
        if size_bytes % SIZE_UNITS[unit] == 0:
            return f"{size_bytes // SIZE_UNITS[unit]}{unit}"
    return str(size_bytes)


def split_into_shards(tensors: list[tuple[str, list[int]]], shards: int) -> list[list[tuple[str, list[int]]]]:
    """Split tensors, in order, into ``shards`` contiguous groups of about equal bytes.

    A tensor goes to the shard whose equal-share interval contains its
    midpoint, so no shard is empty while no tensor is larger than one share.
    """
    sizes = [math.prod(shape) for _, shape in tensors]
    total = sum(sizes)
    groups: list[list[tuple[str, list[int]]]] = [[] for _ in range(shards)]
    before = 0
    for tensor, size in zip(tensors, sizes):
        index = min(shards - 1, (2 * before + size) * shards // (2 * total))
        groups[index].append(tensor)
        before += size
    empty = [number + 1 for number, group in enumerate(groups) if not group]
    if empty:
        raise ValueError(f"shards {empty} would contain no tensor: use fewer shards or a larger size")
    return groups


# ---------------------------------------------------------------------------
# Safetensors files


def shard_name(number: int, total: int) -> str:
    """Return the save_pretrained file name of shard ``number`` (1-based) of ``total``."""
    return f"model-{number:05d}-of-{total:05d}.safetensors"


def encode_header(tensors: list[tuple[str, list[int]]]) -> tuple[bytes, int]:
    """Encode the safetensors prefix (length and JSON header) and return it with the data size.

    The bytes match what ``safetensors.numpy.save`` (safetensors 0.8) writes
    for the same tensors: data in name order, compact JSON with
    ``__metadata__`` first, and spaces that pad the header to a multiple of 8
    bytes so that the data starts aligned.
    """
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in sorted(tensors):
        end = offset + math.prod(shape) * BYTES_PER_ELEMENT
        header[name] = {"dtype": DTYPE, "shape": shape, "data_offsets": [offset, end]}
        offset = end
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    return struct.pack("<Q", len(encoded)) + encoded, offset


def write_random_data(handle: BinaryIO, length: int, key: bytes) -> None:
    """Write ``length`` pseudorandom bytes derived from ``key`` to ``handle``.

    Block i is SHAKE-128 of ``key`` followed by i as 8 little-endian bytes, so
    the stream is deterministic and needs two blocks of memory. Bytes at odd
    positions are bfloat16 high bytes when the stream starts at an element
    boundary, and those never encode Inf or NaN.
    """
    # A writer thread overlaps each write, which releases the GIL, with
    # hashing the next block. At most two blocks are alive at once.
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending = None
        for index, offset in enumerate(range(0, length, BLOCK_SIZE)):
            size = min(BLOCK_SIZE, length - offset)
            block = bytearray(hashlib.shake_128(key + index.to_bytes(8, "little")).digest(size))
            block[1::2] = block[1::2].translate(FINITE_BF16_HIGH_BYTE)
            if pending is not None:
                pending.result()
            pending = writer.submit(handle.write, block)
        if pending is not None:
            pending.result()


def verify_safetensors(path: str | os.PathLike) -> dict:
    """Check that a safetensors file is well formed and return its parsed header.

    The header must be a JSON object of tensors with a known dtype, a shape whose
    size matches its data_offsets, and offsets that tile the data area from 0 to
    the end of the file without gaps or overlaps. The tensor data is not read.
    Raises ValueError naming the file and the first problem found.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        file_size = os.fstat(handle.fileno()).st_size
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise ValueError(f"invalid safetensors file {path}: shorter than the 8-byte header length")
        (header_length,) = struct.unpack("<Q", prefix)
        if header_length > MAX_HEADER_BYTES or 8 + header_length > file_size:
            raise ValueError(
                f"invalid safetensors file {path}: header length {header_length} "
                f"does not fit in a file of {file_size} bytes"
            )
        raw = handle.read(header_length)

    if not raw.startswith(b"{"):
        raise ValueError(f"invalid safetensors file {path}: header does not start with '{{'")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"invalid safetensors file {path}: header is not valid JSON ({error})") from None
    if not isinstance(header, dict):
        raise ValueError(f"invalid safetensors file {path}: header is not a JSON object")

    metadata = header.get("__metadata__", {})
    if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise ValueError(f"invalid safetensors file {path}: __metadata__ is not a map of strings")

    spans = []
    for name, entry in header.items():
        if name != "__metadata__":
            spans.append((_check_tensor_entry(path, name, entry), name))

    data_size = file_size - 8 - header_length
    expected_start = 0
    for (start, end), name in sorted(spans):
        if start != expected_start:
            raise ValueError(
                f"invalid safetensors file {path}: tensor {name!r} starts at {start}, "
                f"expected {expected_start} (gap or overlap in data_offsets)"
            )
        expected_start = end
    if expected_start != data_size:
        raise ValueError(
            f"invalid safetensors file {path}: tensors cover {expected_start} bytes "
            f"but the data area has {data_size}"
        )
    return header


def _check_tensor_entry(path: Path, name: str, entry: object) -> tuple[int, int]:
    """Validate one header entry and return its (start, end) data offsets."""
    if not isinstance(entry, dict):
        raise ValueError(f"invalid safetensors file {path}: tensor {name!r} is not an object")
    dtype = entry.get("dtype")
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if dtype not in SAFETENSORS_DTYPE_SIZES:
        raise ValueError(f"invalid safetensors file {path}: tensor {name!r} has unknown dtype {dtype!r}")
    if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
        raise ValueError(f"invalid safetensors file {path}: tensor {name!r} has invalid shape {shape!r}")
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(type(o) is int for o in offsets)
        and 0 <= offsets[0] <= offsets[1]
    ):
        raise ValueError(f"invalid safetensors file {path}: tensor {name!r} has invalid data_offsets {offsets!r}")
    start, end = offsets
    expected = math.prod(shape) * SAFETENSORS_DTYPE_SIZES[dtype]
    if end - start != expected:
        raise ValueError(
            f"invalid safetensors file {path}: tensor {name!r} of shape {shape} and dtype "
            f"{dtype} needs {expected} bytes but data_offsets span {end - start}"
        )
    return start, end


def verify_model_dir(model_dir: str | os.PathLike) -> int:
    """Check the shards of a model directory against its index and return the total tensor bytes.

    Every shard must pass verify_safetensors, hold exactly the tensors that the
    index's weight_map assigns to it, and the tensor bytes must add up to the
    index's total_size. Raises ValueError on the first mismatch.
    """
    model_dir = Path(model_dir)
    index = json.loads((model_dir / INDEX_NAME).read_text(encoding="utf-8"))
    try:
        weight_map: dict[str, str] = index["weight_map"]
        total_size = index["metadata"]["total_size"]
    except (KeyError, TypeError):
        raise ValueError(f"{model_dir / INDEX_NAME} has no weight_map or metadata.total_size") from None
    names_by_shard: dict[str, set[str]] = {}
    for tensor, shard in weight_map.items():
        names_by_shard.setdefault(shard, set()).add(tensor)

    total = 0
    for shard, expected_names in sorted(names_by_shard.items()):
        header = verify_safetensors(model_dir / shard)
        names = set(header) - {"__metadata__"}
        if names != expected_names:
            raise ValueError(
                f"{model_dir / shard} does not match {INDEX_NAME}: "
                f"{len(names - expected_names)} tensors not in the index, "
                f"{len(expected_names - names)} indexed tensors missing"
            )
        total += sum(header[name]["data_offsets"][1] - header[name]["data_offsets"][0] for name in names)

    if total != total_size:
        raise ValueError(
            f"{model_dir / INDEX_NAME}: total_size is {total_size} but the shards hold {total} tensor bytes"
        )
    return total


# ---------------------------------------------------------------------------
# Tokenizer and config files

SPECIAL_TOKENS = ("<unk>", "<s>", "</s>")
# Chat markers plus end-of-text and padding tokens, added after the BPE
# vocabulary the way fine-tuning adds them.
CHAT_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>", "<|endoftext|>", "<|pad|>")
MAX_MERGES = 256

# Training text for the BPE merges. Its content only affects which merges exist.
TOKENIZER_TRAINING_TEXT = """\
InstructLab adds knowledge and skills to a language model through a taxonomy of
question and answer examples. The ilab command reads the taxonomy, generates
synthetic training data with a teacher model, trains the student model on that
data, and then evaluates the result against benchmarks. Each step writes large
files: model checkpoints, tokenizers, datasets and evaluation results. A model
checkpoint is a directory with a configuration file, a tokenizer and one or more
safetensors shards that hold the weights of every layer. Training the same base
model again changes only some of the weights, so most of the bytes in a new
checkpoint are the same as in the previous one. The store keeps each file once
by its content hash, however many model directories contain it.
"""

PRETOKEN_PATTERN = re.compile(r"'(?:[sdmt]|ll|ve|re)| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ '<|system|>\\n' + message['content'] + '\\n' }}"
    "{% elif message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + '\\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\\n' + message['content'] + eos_token + '\\n' }}"
    "{% endif %}"
    "{% if loop.last and add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
    "{% endfor %}"
)


def _bytes_to_unicode() -> dict[int, str]:
    """Return GPT-2's map from bytes to printable characters, as the ByteLevel pre-tokenizer uses."""
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    mapping = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in mapping:
            mapping[byte] = chr(256 + extra)
            extra += 1
    return dict(sorted(mapping.items()))


@cache
def _tokenizer_vocabulary() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Train byte-level BPE merges on the built-in text and return (vocab, merges).

    Ties between equally frequent pairs go to the smaller pair, so the result
    is the same on every run.
    """
    byte_chars = _bytes_to_unicode()
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    for char in byte_chars.values():
        vocab[char] = len(vocab)

    words: Counter[tuple[str, ...]] = Counter()
    for piece in PRETOKEN_PATTERN.findall(TOKENIZER_TRAINING_TEXT):
        words[tuple(byte_chars[byte] for byte in piece.encode("utf-8"))] += 1

    merges: list[tuple[str, str]] = []
    while len(merges) < MAX_MERGES:
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        if pairs[best] < 2:
            break
        merges.append(best)
        merged = best[0] + best[1]
        vocab.setdefault(merged, len(vocab))
        words = Counter({_merge_pair(word, best, merged): count for word, count in words.items()})
    return vocab, merges


def _merge_pair(word: tuple[str, ...], pair: tuple[str, str], merged: str) -> tuple[str, ...]:
    result = []
    index = 0
    while index < len(word):
        if index + 1 < len(word) and (word[index], word[index + 1]) == pair:
            result.append(merged)
            index += 2
        else:
            result.append(word[index])
            index += 1
    return tuple(result)


def _token_ids() -> dict[str, int]:
    """Return the id of every special and chat token."""
    vocab, _ = _tokenizer_vocabulary()
    ids = {token: vocab[token] for token in SPECIAL_TOKENS}
    for offset, token in enumerate(CHAT_TOKENS):
        ids[token] = len(vocab) + offset
    return ids


def _added_token(token: str, token_id: int | None = None) -> dict:
    """Return a special token entry: with ``token_id`` in tokenizer.json's key order, else transformers'."""
    if token_id is None:
        return {"content": token, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    return {
        "id": token_id, "content": token, "single_word": False, "lstrip": False,
        "rstrip": False, "normalized": False, "special": True,
    }


def tokenizer_json() -> dict:
    """Return tokenizer.json in the layout that the tokenizers library saves."""
    vocab, merges = _tokenizer_vocabulary()
    ids = _token_ids()
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    bos = {"SpecialToken": {"id": "<s>", "type_id": 0}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [_added_token(token, ids[token]) for token in SPECIAL_TOKENS + CHAT_TOKENS],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}}, bos, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [ids["<s>"]], "tokens": ["<s>"]}},
        },
        "decoder": byte_level,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "vocab": vocab,
            # Space-separated pairs are the format of older tokenizers releases,
            # and tokenizers 0.23 still reads them.
            "merges": [f"{left} {right}" for left, right in merges],
        },
    }


def tokenizer_config_json() -> dict:
    """Return tokenizer_config.json as transformers writes it for a fast tokenizer."""
    ids = _token_ids()
    return {
        "added_tokens_decoder": {
            str(ids[token]): {**_added_token(token), "special": True} for token in SPECIAL_TOKENS + CHAT_TOKENS
        },
        "additional_special_tokens": list(CHAT_TOKENS[:3]),
        "bos_token": "<s>",
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|endoftext|>",
        "model_max_length": MAX_POSITION_EMBEDDINGS,
        "pad_token": "<|pad|>",
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": "<unk>",
    }


def special_tokens_map_json() -> dict:
    """Return special_tokens_map.json as transformers writes it."""
    return {
        "additional_special_tokens": list(CHAT_TOKENS[:3]),
        "bos_token": _added_token("<s>"),
        "eos_token": _added_token("<|endoftext|>"),
        "pad_token": _added_token("<|pad|>"),
        "unk_token": _added_token("<unk>"),
    }


def config_json(shape: ModelShape) -> dict:
    """Return config.json of a LlamaForCausalLM with the given dimensions."""
    ids = _token_ids()
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": ids["<s>"],
        "eos_token_id": ids["<|endoftext|>"],
        "head_dim": shape.head_dim,
        "hidden_act": "silu",
        "hidden_size": shape.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": shape.intermediate_size,
        "max_position_embeddings": MAX_POSITION_EMBEDDINGS,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": shape.num_attention_heads,
        "num_hidden_layers": shape.num_hidden_layers,
        "num_key_value_heads": shape.num_key_value_heads,
        "pad_token_id": ids["<|pad|>"],
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": shape.vocab_size,
    }


def generation_config_json() -> dict:
    """Return generation_config.json as save_pretrained derives it from the model config."""
    ids = _token_ids()
    return {
        "_from_model_config": True,
        "bos_token_id": ids["<s>"],
        "eos_token_id": ids["<|endoftext|>"],
        "pad_token_id": ids["<|pad|>"],
        "transformers_version": TRANSFORMERS_VERSION,
    }


def _write_json(path: Path, content: dict, sort_keys: bool = True, trailing_newline: bool = True) -> None:
    # Binary mode keeps "\n" line ends on every platform, so output bytes match everywhere.
    text = json.dumps(content, indent=2, sort_keys=sort_keys, ensure_ascii=False)
    if trailing_newline:
        text += "\n"
    path.write_bytes(text.encode("utf-8"))


# ---------------------------------------------------------------------------
# Model directories


def _prepare_output_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValueError(f"output directory {out_dir} exists and is not empty: remove it or choose another")
    out_dir.mkdir(parents=True, exist_ok=True)


def write_model(out_dir: str | os.PathLike, size_bytes: int, shards: int = 4, seed: int = 0) -> list[Path]:
    """Write a model directory with about ``size_bytes`` of bfloat16 tensor data.

    ``out_dir`` is created if needed and must be empty. The tensor bytes total
    ``size_bytes`` minus at most ``2 * hidden_size + 1`` bytes, and the index's
    total_size records the exact figure. The index and numbered shard names are
    written even for one shard. Returns the paths written, sorted by name.
    Raises ValueError for a size too small for the shard count.
    """
    if size_bytes < 0:
        raise ValueError(f"invalid size {size_bytes}: expected 0 or more bytes")
    out_dir = Path(out_dir)
    shape = plan_model(size_bytes // BYTES_PER_ELEMENT, shards)
    groups = split_into_shards(shape.tensors(), shards)
    _prepare_output_dir(out_dir)

    _write_json(out_dir / "config.json", config_json(shape))
    _write_json(out_dir / "generation_config.json", generation_config_json())
    # The tokenizers library writes tokenizer.json in its own key order with no final newline.
    _write_json(out_dir / "tokenizer.json", tokenizer_json(), sort_keys=False, trailing_newline=False)
    _write_json(out_dir / "tokenizer_config.json", tokenizer_config_json())
    _write_json(out_dir / "special_tokens_map.json", special_tokens_map_json())

    weight_map = {}
    total_size = 0
    for number, group in enumerate(groups, start=1):
        name = shard_name(number, shards)
        prefix, data_size = encode_header(group)
        key = f"make_model base seed={seed} size={size_bytes} shards={shards} shard={number}".encode()
        with open(out_dir / name, "wb") as handle:
            handle.write(prefix)
            write_random_data(handle, data_size, key)
        weight_map.update({tensor: name for tensor, _ in group})
        total_size += data_size

    index = {"metadata": {"total_size": total_size}, "weight_map": weight_map}
    _write_json(out_dir / INDEX_NAME, index)
    return sorted(out_dir.iterdir())


def _shard_files(model_dir: Path) -> list[str]:
    """Return the shard file names listed in the directory's index, in shard order."""
    index = json.loads((model_dir / INDEX_NAME).read_text(encoding="utf-8"))
    return sorted(set(index["weight_map"].values()))


def write_finetune(
    base_dir: str | os.PathLike, out_dir: str | os.PathLike, changed: int = 1, seed: int = 1
) -> list[Path]:
    """Write a fine-tuned sibling of ``base_dir`` in which only the last ``changed`` shards differ.

    Every top-level file of the base is copied byte for byte, except the last
    ``changed`` shards in the index. Those keep the base's header and get new
    tensor data, derived from ``seed`` and the base shard's header and first
    data bytes. A fine-tune of a different base therefore never repeats it.
    ``out_dir`` is created if needed and must be empty. Returns the paths
    written, sorted by name. Raises ValueError when ``changed`` is out of range.
    """
    base_dir = Path(base_dir)
    out_dir = Path(out_dir)
    shard_files = _shard_files(base_dir)
    if not 0 <= changed <= len(shard_files):
        raise ValueError(
            f"invalid changed shard count {changed}: {base_dir} has {len(shard_files)} shards"
        )
    changed_files = set(shard_files[len(shard_files) - changed:])
    _prepare_output_dir(out_dir)

    for source in sorted(base_dir.iterdir()):
        if not source.is_file():
            continue
        target = out_dir / source.name
        if source.name in changed_files:
            _write_changed_shard(source, target, seed, shard_files.index(source.name) + 1)
        else:
            shutil.copyfile(source, target)
    return sorted(out_dir.iterdir())


def _write_changed_shard(source: Path, target: Path, seed: int, number: int) -> None:
    verify_safetensors(source)
    with open(source, "rb") as base:
        (header_length,) = struct.unpack("<Q", base.read(8))
        prefix = struct.pack("<Q", header_length) + base.read(header_length)
        data_size = os.fstat(base.fileno()).st_size - len(prefix)
        base_sample = base.read(4096)
    base_digest = hashlib.sha256(prefix + base_sample).hexdigest()
    key = f"make_model finetune seed={seed} shard={number} base={base_digest}".encode()
    with open(target, "wb") as handle:
        handle.write(prefix)
        write_random_data(handle, data_size, key)


# ---------------------------------------------------------------------------
# Command line


def _size_argument(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Write a sharded bfloat16 Llama model directory in Hugging Face format, "
        "with pseudorandom weights, for tests and benchmarks.",
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="directory to write, created if missing and otherwise empty")
    parser.add_argument(
        "--size", type=_size_argument, default=parse_size("64M"),
        help="total bytes of tensor data; K, M, G, T are binary units (default: 64M)",
    )
    parser.add_argument("--shards", type=int, default=4, help="number of safetensors shards (default: 4)")
    parser.add_argument(
        "--finetune", type=Path, metavar="FT_DIR",
        help="also write a fine-tuned copy here, identical except for its last shards",
    )
    parser.add_argument(
        "--changed", type=int, metavar="K",
        help="number of trailing shards whose data differs in FT_DIR (default: 1)",
    )
    parser.add_argument(
        "--seed", type=int, default=0,
        help="seed of the base weights; FT_DIR uses seed + 1 (default: 0)",
    )
    parser.add_argument("--check", action="store_true", help="verify every shard and index after writing")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each file written and timings")
    return parser


def _check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject bad combinations before anything is written."""
    if args.shards < 1:
        parser.error(f"invalid --shards {args.shards}: expected 1 or more")
    if args.changed is not None and args.finetune is None:
        parser.error("--changed needs --finetune")
    if args.changed is None:
        args.changed = 1
    if not 0 <= args.changed <= args.shards:
        parser.error(f"invalid --changed {args.changed}: expected 0 to {args.shards} (the shard count)")
    if args.finetune is not None and args.finetune.resolve() == args.out_dir.resolve():
        parser.error("FT_DIR must differ from OUT_DIR")
    try:
        plan_model(args.size // BYTES_PER_ELEMENT, args.shards)
    except ValueError as error:
        parser.error(str(error))
    for directory in (args.out_dir, args.finetune):
        if directory is not None and directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            parser.error(f"output directory {directory} exists and is not empty: remove it or choose another")


def _report(verbose: bool, message: str) -> None:
    if verbose:
        print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return 0, or 1 when writing or --check fails.

    Invalid arguments raise SystemExit with status 2, as argparse does.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    _check_arguments(parser, args)

    started = time.perf_counter()
    try:
        paths = write_model(args.out_dir, args.size, args.shards, args.seed)
        shape = plan_model(args.size // BYTES_PER_ELEMENT, args.shards)
        _report(args.verbose, f"{args.out_dir}: {shape}")
        for path in paths:
            _report(args.verbose, f"wrote {path} ({path.stat().st_size} bytes)")
        _report(args.verbose, f"base model written in {time.perf_counter() - started:.1f} s")

        model_dirs = [args.out_dir]
        if args.finetune is not None:
            started = time.perf_counter()
            for path in write_finetune(args.out_dir, args.finetune, args.changed, args.seed + 1):
                _report(args.verbose, f"wrote {path} ({path.stat().st_size} bytes)")
            _report(args.verbose, f"fine-tuned model written in {time.perf_counter() - started:.1f} s")
            model_dirs.append(args.finetune)

        if args.check:
            for model_dir in model_dirs:
                total = verify_model_dir(model_dir)
                _report(args.verbose, f"checked {model_dir}: {total} tensor bytes, requested {args.size}")
    except (OSError, ValueError) as error:
        print(f"make_model: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
