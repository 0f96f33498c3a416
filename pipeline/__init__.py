"""Shared params and CLI plumbing, and the model stages (`base`, later `pretrain`, `sft`, `publish`)."""
