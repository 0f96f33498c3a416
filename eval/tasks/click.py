"""CLIcK: Korean culture and language exam questions (lm-eval's click prompt), 0-shot.

Every file under click/ (JSON, JSONL, CSV or Parquet; records id, paragraph, question, choices,
answer) is scored as one task: the mean over all questions. `answer` is the text of the right
choice; CSAT questions (id containing "CSAT") have five options A-E, the others four.
"""

from pathlib import Path

from eval.tasks import Task, TaskDataError, read_records, require_fields

LETTERS = ["A", "B", "C", "D", "E"]


def read(path: Path) -> list[dict]:
    return parse(read_records(path), str(path))


def parse(records: list[dict], source: str) -> list[dict]:
    """Rows with id, paragraph, question, choices, answer: the files' and the Hub copy's schema alike."""
    docs = []
    for n, r in enumerate(records):
        where = f"{source}: record {n}"
        require_fields(r, ("id", "question", "choices", "answer"), where)
        options = list(r["choices"])
        letters = LETTERS if "CSAT" in r["id"] else LETTERS[:4]
        if len(options) != len(letters) or r["answer"] not in options:
            raise TaskDataError(f"{where}: needs {len(letters)} choices and an answer among them")
        # lm-eval's text, verbatim so numbers compare: "A:" without a space, and only A-D listed
        # even where a CSAT question has an E.
        listed = f"A:{options[0]}, B: {options[1]}, C: {options[2]}, D: {options[3]}"
        if r.get("paragraph"):
            intro = "주어진 맥락을 천천히 읽고, 질문에 대한 적절한 정답을"
            context = f"맥락: {r['paragraph']}\n"
        else:
            intro, context = "주어진 질문을 천천히 읽고, 적절한 정답을", ""
        query = (
            f"{intro} A, B, C, D 중에 골라 알파벳 하나로 답하시오.\n\n"
            f"{context}질문: {r['question']}\n보기:\n{listed}\n정답:"
        )
        docs.append({"query": query, "choices": letters, "gold": options.index(r["answer"])})
    return docs


TASK = Task(
    "click",
    "click",
    None,
    0,
    read,
    title="CLIcK",
    hub_id="EunsuKim/CLIcK",
    from_hub=parse,
    hub_split="train",  # the Hub copy's only split
)
