"""Run under torchrun by tests/test_training.py: load the demo base under ZeRO-3 on 2 CPU ranks,
record each rank's share of embed_tokens, resize to the extended tokenizer, save the gathered rows."""

from __future__ import annotations

import sys
from pathlib import Path


def main(base: Path, tokenizer: Path, out: Path) -> None:
    import deepspeed
    import torch
    import torch.distributed as dist

    from pipeline.config import PretrainConfig
    from pipeline.embeddings import init_new_embeddings
    from pipeline.training import is_main_process, load_model, setup_distributed, training_arguments

    setup_distributed()
    config = PretrainConfig(deepspeed="configs/deepspeed/zero3.json", per_device_batch_size=1)
    # Registers ZeRO-3 with transformers for as long as the arguments live (a weak reference).
    args = training_arguments(config, out.parent / "args", max_steps=1, learning_rate=1e-3)
    model = load_model(base, config)
    weight = model.get_input_embeddings().weight
    shares = [None] * dist.get_world_size()
    dist.all_gather_object(shares, weight.ds_tensor.numel())
    numel, base_rows = weight.ds_numel, int(weight.ds_shape[0])
    init_new_embeddings(model, base / "tokenizer.model", tokenizer / "tokenizer.model")
    inputs, outputs = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    with deepspeed.zero.GatheredParameters([inputs, outputs]):
        rows = {"embed_tokens": inputs.detach().clone(), "lm_head": outputs.detach().clone()}
    del args
    if is_main_process():
        torch.save({"local_numel": shares, "numel": numel, "base_rows": base_rows, **rows}, out)


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:4]))
