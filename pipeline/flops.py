"""Model FLOPs per token, the accelerator's peak, and model FLOPs utilisation (MFU).

Training FLOPs per token are 6N + 12·L·d·T (Kaplan et al.; PaLM's appendix B): 6N for the
forward and backward matmuls of N parameters, counting the embeddings and lm_head (the
embedding lookup is no matmul, so this overstates MFU by about V·d/N: some 3% for a 7B Llama
with a 46k vocabulary), plus the attention scores and values over a context of T tokens.
Recomputation under gradient checkpointing is not counted: MFU counts the model's FLOPs, not
the hardware's. Nor are frozen weights: by this (llm-foundry's, PaLM's) convention every weight
gets its gradient, so for pretrain's stage 1 (embeddings only) and LoRA the figure overstates
the work done by up to 1.5x (a frozen matrix skips its weight-gradient matmul). The bench trains
every weight.

The peak is the vendor's dense bf16 figure looked up by device name, or `peak_tflops` in params.
"""

from __future__ import annotations

import time

# Dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, from the vendors' data sheets. Longest
# name first: "H100 PCIe" must not match "H100".
PEAK_BF16_TFLOPS = {
    "H100 PCIe": 756.0,
    "H100 NVL": 835.0,
    "H100": 989.0,  # SXM
    "H200": 989.0,
    "H800": 989.0,
    "GH200": 989.0,
    "B200": 2250.0,
    "A100": 312.0,
    "A800": 312.0,
    "L40S": 362.0,
    "L40": 181.0,
    "A10G": 70.0,
    "A6000": 155.0,
    "L4": 121.0,
}


def model_flops_per_token(config, sequence_length: int) -> float:
    """Training FLOPs per token of a decoder (Llama/Qwen-shaped) config at this context length."""
    n = parameter_count(config)
    attention = 12 * config.num_hidden_layers * config.hidden_size * sequence_length
    return 6.0 * n + attention


def parameter_count(config) -> int:
    """Parameters of a Llama-shaped model from its config: embeddings, lm_head (unless tied), layers."""
    d, layers, vocab = config.hidden_size, config.num_hidden_layers, config.vocab_size
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or d // heads
    attention = d * heads * head_dim * 2 + d * kv_heads * head_dim * 2  # q, o; k, v
    mlp = 3 * d * config.intermediate_size  # gate, up, down
    norms = 2 * d
    embeddings = vocab * d * (1 if getattr(config, "tie_word_embeddings", False) else 2)
    return layers * (attention + mlp + norms) + embeddings + d


def peak_flops(device_name: str, override_tflops: float = 0.0) -> tuple[float | None, str]:
    """(peak FLOP/s, where it came from) for a device name; (None, why) when unknown."""
    if override_tflops > 0:
        return override_tflops * 1e12, f"{override_tflops:g} TFLOP/s from params"
    for name in sorted(PEAK_BF16_TFLOPS, key=len, reverse=True):
        if name.lower() in device_name.lower():
            tflops = PEAK_BF16_TFLOPS[name]
            return tflops * 1e12, f"{tflops:g} TFLOP/s dense bf16 ({name})"
    return None, f"no peak known for {device_name!r}: set peak_tflops in params"


def device_name() -> str:
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"


class Throughput:
    """Tokens this rank trained on, per logging interval and over the run: tokens/s per device and MFU."""

    def __init__(self, flops_per_token: float, peak: float | None):
        self.flops_per_token, self.peak = flops_per_token, peak
        self.tokens = 0  # since the last interval
        self.total_tokens = 0
        self.started = self.last = time.perf_counter()
        self.busy = 0.0

    def restart(self) -> None:
        """Start the clock now (training begins; start-up evaluation and loading are not counted)."""
        self.tokens = self.total_tokens = 0
        self.started = self.last = time.perf_counter()

    def add_tokens(self, count: int) -> None:
        self.tokens += count
        self.total_tokens += count

    def interval(self, step: int) -> dict:
        """tokens/s per device and MFU since the last call (for the Trainer's log line)."""
        now = time.perf_counter()
        seconds, self.last = now - self.last, now
        rate = self.tokens / seconds if seconds > 0 else 0.0
        self.tokens = 0
        return {"tokens_per_s_per_device": round(rate, 1), **self.mfu_of(rate)}

    def mfu_of(self, tokens_per_s: float) -> dict:
        if self.peak is None:
            return {}
        # The peak beside the MFU, so a log line says what it is a share of.
        return {
            "mfu": round(tokens_per_s * self.flops_per_token / self.peak, 4),
            "peak_tflops": self.peak / 1e12,
        }

    def summary(self) -> dict:
        """Since the clock (re)started: tokens/s per device, MFU where the peak is known, and the seconds."""
        seconds = time.perf_counter() - self.started
        rate = self.total_tokens / seconds if seconds > 0 else 0.0
        return {"tokens_per_s_per_device": round(rate, 1), **self.mfu_of(rate), "seconds": seconds}
