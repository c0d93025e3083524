#!/usr/bin/env bash
# Walk through the main job on a generated model: add a base model and a
# fine-tuned checkpoint that shares most of its files, list them, show the
# space saved, delete both and reclaim everything. Uses a store in a
# temporary folder, so it never touches your real store.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export ILABFS_STORE="$work/store"
python=${PYTHON:-python3}

run() { printf '\n$ %s\n' "$*"; "$@"; }

"$python" "$here/make_model.py" "$work/granite-7b-base" --size "${DEMO_SIZE:-256M}" --shards 4 \
    --finetune "$work/granite-7b-ft" --changed 1

run ilab model add "$work/granite-7b-base" --name granite-7b-base
run ilab model add "$work/granite-7b-ft" --name granite-7b-ft:step-100 --base granite-7b-base --phase phase1
run ilab model list
run ilab df
run ilab model inspect granite-7b-ft:step-100
run ilab model delete granite-7b-base --dry-run --force
run ilab model delete granite-7b-ft:step-100
run ilab model delete granite-7b-base
run ilab gc
run ilab df
