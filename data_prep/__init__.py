"""Raw Korean text in, clean Korean text out (the `corpus` and `clean` stages)."""
