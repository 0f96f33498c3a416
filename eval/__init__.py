"""Leaderboard-style Korean evaluation (the `eval` stage)."""
