"""Ko-CommonGen v2: which of four sentences uses the concept set sensibly; 2-shot from its 5-shot file."""

from pathlib import Path

from eval.tasks import Task, TaskDataError, read_json_records


def read(path: Path) -> list[dict]:
    return parse(read_json_records(path), str(path))


def parse(records: list[dict], source: str) -> list[dict]:
    """Rows with concept_set, "1"-"4" and gold 1-4: the files' and the Hub copy's schema alike."""
    docs = []
    for n, r in enumerate(records):
        if int(r.get("gold", 0)) not in (1, 2, 3, 4):
            raise TaskDataError(f"{source}: record {n} has gold {r.get('gold')!r}, not 1-4")
        concepts = ", ".join(r["concept_set"].split("#"))
        docs.append(
            {
                "query": f"다음 개념을 모두 써서 자연스러운 문장을 고르세요: {concepts}\n문장:",
                "choices": [r[str(i)] for i in range(1, 5)],
                "gold": int(r["gold"]) - 1,
            }
        )
    return docs


TASK = Task(
    "ko_commongen_v2",
    "ko_commongen_v2/korean_commongen_v2_847_shuffled.jsonl",
    "ko_commongen_v2/v2_5shot.jsonl",
    2,
    read,
    title="Ko-CommonGen v2",
    hub_id="nlpai-lab/ko_commongen_v2",
    from_hub=parse,
    hub_fewshot_split="train",  # the Hub's train split is the 5-shot file
)
