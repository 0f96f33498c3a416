"""SentencePiece models in the Llama-2 format, and their Hugging Face export (the `vocab` stage)."""
