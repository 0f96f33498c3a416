#!/usr/bin/env bash
# One call on a lent GPU machine (torch, transformers, peft, accelerate; no deepspeed, no network):
# install the wheels carried in bench/wheels (fetch them here first with
#   pip download --no-deps -d bench/wheels hjson ninja py-cpuinfo msgpack einops pydantic \
#     pydantic-core annotated-types typing-inspection   (what deepspeed imports; the machine may have some)
#   pip wheel --no-deps --no-build-isolation -w bench/wheels deepspeed==0.19.8
# and carry bench/wheels; DeepSpeedCPUAdam for the offload cell compiles there, which needs g++),
# then run the bench grid and leave its results in $OUT.
set -euo pipefail
OUT=${OUT:-/tmp}
pip install --no-index --no-deps bench/wheels/*.whl >/dev/null
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
# 1B-class at 4k: plain, ZeRO-2, ZeRO-3; 7B shape: ZeRO-3 with gradient checkpointing, and offload.
python bench/pretrain.py --shape 1b --zero none --out "$OUT/pretrain.jsonl"
python bench/pretrain.py --shape 1b --zero 2 --no-anchor --out "$OUT/pretrain.jsonl"
python bench/pretrain.py --shape 1b --zero 3 --no-anchor --out "$OUT/pretrain.jsonl"
python bench/pretrain.py --shape 7b --zero 3 --checkpointing --steps 4 --warmup 2 --out "$OUT/pretrain.jsonl"
python bench/pretrain.py --shape 7b --zero 3-offload --checkpointing --steps 2 --warmup 1 --out "$OUT/pretrain.jsonl"
