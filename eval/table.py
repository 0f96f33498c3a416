"""The leaderboard table: models by tasks, Korean and English averages, deltas against the first model.

Its own module because two stages render it: ko-eval writes it, and ko-publish puts it in the model
card without importing the evaluation machinery.
"""

from __future__ import annotations

AVERAGES = {"average": "ko average", "average_en": "en average"}


def render_table(record: dict) -> str:
    """Markdown: a row per model, a column per task (headline metric, %), the average; deltas vs the first."""
    tasks = list(record["tasks"])
    names = list(record["models"])
    bpc_keys = [
        k for k in ("bits_per_char", "bits_per_char_en") if all(k in m for m in record["models"].values())
    ]
    mean_keys = [k for k in AVERAGES if all(k in m for m in record["models"].values())]
    header = ["model", *[f"{t} ({record['tasks'][t]['headline']})" for t in tasks]]
    header += [AVERAGES[k] for k in mean_keys]
    header += [{"bits_per_char": "bits/char", "bits_per_char_en": "en bits/char"}[k] for k in bpc_keys]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    first = record["models"][names[0]]
    for name in names:
        model = record["models"][name]
        cells = [name]
        for task in tasks:
            metric = record["tasks"][task]["headline"]
            cells.append(cell(model["tasks"][task][metric], first["tasks"][task][metric], name == names[0]))
        for key in mean_keys:
            cells.append(cell(model[key], first[key], name == names[0]))
        for key in bpc_keys:
            delta = model[key] - first[key]
            bpc = f"{model[key]:.3f}"
            cells.append(bpc if name == names[0] else f"{bpc} ({delta:+.3f})")
        lines.append("| " + " | ".join(cells) + " |")
    shots = ", ".join(f"{t} {record['tasks'][t]['n_shot']}-shot" for t in tasks)
    notes = [
        f"Scores in %; deltas against {names[0]}. Averages: the mean of the headline metrics of each "
        f"language's tasks. {shots}; seed {record['seed']}."
    ]
    if record.get("limit"):
        notes.append(
            f"eval.limit {record['limit']}: only the first {record['limit']} questions of each task "
            "(of each subject for grouped tasks): a smoke test, not a score to report."
        )
    for family, info in record.get("families", {}).items():
        models = info["models"]
        values = ", ".join(f"{n} " + " / ".join(f"{100 * v:.2f}" for v in models[n].values()) for n in names)
        notes.append(f"{family} ({' / '.join(models[names[0]])}): {values}. Headline: {info['headline']}.")
    notes += [f"{t}: {info['caveat']}." for t, info in record["tasks"].items() if info.get("caveat")]
    komt = record.get("komt_bench")
    if komt and komt["judge"]:
        graded = []
        for n, m in record["models"].items():
            score = m["komt_bench"]
            graded.append(f"{n} {score['score']} (turn 1 {score['turn_1']}, turn 2 {score['turn_2']})")
        notes.append(
            f"KoMT-Bench ({komt['questions']} questions, 1-10, judge {komt['judge']}): {', '.join(graded)}."
        )
    elif komt:
        notes.append(
            f"KoMT-Bench: answers to {komt['questions']} questions stored, not judged (no judge_url)."
        )
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def cell(value: float, anchor: float, is_anchor: bool) -> str:
    if is_anchor:
        return f"{100 * value:.2f}"
    return f"{100 * value:.2f} ({100 * (value - anchor):+.2f})"
