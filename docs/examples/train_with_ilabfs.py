#!/usr/bin/env python3
"""A training step that reads its inputs by ref and stores each checkpoint it writes.

This is the shape an ``ilab model train``-style trainer takes with ilabfs.
It resolves the base model and the dataset to folders, trains, and hands
each checkpoint to the store in one call. Move mode copies no byte and
removes the folder once the checkpoint is named. The "training" here only
perturbs the last shard of the base model, so the script runs anywhere in
seconds; a real trainer puts its own loop in ``train_one_epoch``.

    python docs/examples/train_with_ilabfs.py --model granite-7b-base --data skills-0114 --epochs 2
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tempfile
from pathlib import Path

from ilabfs import api


def train_one_epoch(model_dir: Path, data_dir: Path, out_dir: Path, epoch: int) -> int:
    """Write a checkpoint folder for one epoch and return the number of samples seen."""
    shutil.copytree(model_dir, out_dir)
    shards = sorted(out_dir.glob("model-*.safetensors"))
    last = shards[-1]
    data = bytearray(last.read_bytes())
    header = 8 + int.from_bytes(data[:8], "little")
    # Change tensor bytes only, so the safetensors header stays valid.
    for position in range(header, min(len(data), header + 4096)):
        data[position] ^= hashlib.blake2b(f"{epoch}:{position}".encode(), digest_size=1).digest()[0] | 1
    last.chmod(0o644)
    last.write_bytes(bytes(data))
    samples = sum(1 for path in data_dir.glob("*train*.jsonl") for _ in path.open())
    return samples * (epoch + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="ref of the base model")
    parser.add_argument("--data", required=True, help="ref of the training dataset")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--run", default="demo-run", help="name of this training run")
    args = parser.parse_args()

    model_dir = api.resolve_path(args.model)
    data_dir = api.resolve_path(args.data, kind="dataset")
    with tempfile.TemporaryDirectory() as scratch:
        for epoch in range(args.epochs):
            out = Path(scratch) / f"samples_{epoch}"
            samples = train_one_epoch(model_dir, data_dir, out, epoch)
            ref = api.save_checkpoint(
                out, name=f"{args.run}:samples_{samples}", base=args.model, dataset=args.data,
                phase="phase2", step=samples, run=args.run,
            )
            print(f"stored {ref}")


if __name__ == "__main__":
    main()
