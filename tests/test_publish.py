"""ko-publish on the demo pipeline's real outputs: the staged folder loads and generates, the card
parses with the Hub's own parser, the token stays out of every file and log line, and a push through
huggingface_hub's real upload code reaches a local stand-in for the Hub."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import StageError
from pipeline.config import PublishConfig
from pipeline.model_card import DataSource, card_licence, data_sources
from pipeline.params import ParamsError
from tests.conftest import shared_path
from tests.hub_server import FakeHub

FAKE_TOKEN = "hf_kollamaFakeToken0123456789abcdefXYZ"


def publish(root: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    """`ko-publish` on the demo pipeline's outputs, run from its repo."""
    command = [
        sys.executable,
        "-m",
        "pipeline.publish",
        "--model",
        "models/sft/merged",
        "--adapter",
        "models/sft/adapter",
        *args,
    ]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600)


def no_token_env(env: dict, home: Path) -> dict:
    """No HF_TOKEN and an empty Hugging Face home, so no stored login either."""
    clean = {k: v for k, v in env.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    return {**clean, "HF_HOME": str(home)}


# --- licences, without the pipeline ---


def test_koalpaca_input_makes_the_card_non_commercial():
    koalpaca = str(shared_path("instructions", "koalpaca"))
    sources = data_sources(PublishConfig(), {"sources": [{"input": koalpaca}]})
    assert sources == [DataSource(koalpaca, "sft", "cc-by-nc-4.0")] and sources[0].non_commercial
    assert card_licence("llama2", sources) == ("other", "llama2-and-cc-by-nc-4.0")
    assert card_licence("apache-2.0", sources) == ("cc-by-nc-4.0", None)
    declared = PublishConfig(data_licenses=("corpus A=CC BY-NC-SA 4.0", "corpus B=cc0-1.0"))
    both = data_sources(declared, {"sources": []})
    assert [s.non_commercial for s in both] == [True, False]
    assert card_licence("llama2", both) == ("other", "llama2-and-cc-by-nc-sa-4.0")
    kullm = data_sources(PublishConfig(), {"sources": [{"input": "nlpai-lab/kullm-v2"}]})
    assert card_licence("llama2", kullm) == ("llama2", None)


def test_unknown_sft_input_needs_a_declared_licence():
    rows = {"sources": [{"input": "data/my_rows.jsonl"}]}
    with pytest.raises(StageError, match=r"'data/my_rows.jsonl' has no known licence.*publish.data_licenses"):
        data_sources(PublishConfig(), rows)
    by_name = PublishConfig(data_licenses=("my_rows.jsonl=mit",))
    assert data_sources(by_name, rows) == [DataSource("data/my_rows.jsonl", "sft", "mit")]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("repo_id", "no-owner", "expected OWNER/NAME"),
        ("max_shard_size", "5 gigs", "expected a size like 5GB"),
        ("base_license", "Llama 2", "expected a Hub licence id"),
        ("data_licenses", ("KoAlpaca",), "is not NAME=LICENCE"),
        ("datasets", ("not a hub id",), "is not a Hub dataset id"),
    ],
)
def test_bad_publish_params_are_named(field, value, message):
    with pytest.raises(ParamsError, match=message):
        PublishConfig(**{field: value})


# --- on the demo pipeline's outputs ---


@pytest.mark.integration
@pytest.mark.slow
def test_staged_folder_loads_generates_and_carries_the_card(demo_pipeline):
    import torch
    from huggingface_hub import ModelCard
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline.config import load_params
    from pipeline.sft import decoding_settings

    root, _, _ = demo_pipeline
    staged, merged = root / "dist" / "hub", root / "models" / "sft" / "merged"
    params = load_params(root / "params.yaml")

    # Sharded safetensors holding exactly the merged weights.
    index = json.loads((staged / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1
    weights = {}
    for shard in shards:
        weights.update(load_file(staged / shard))
    source = load_file(merged / "model.safetensors")
    assert weights.keys() == source.keys()
    assert all(torch.equal(weights[k], source[k]) for k in source)
    # The tokenizer as tuned, chat template included; decoding settings of the sft samples.
    for name in ("tokenizer.model", "tokenizer.json", "chat_template.jinja"):
        assert (staged / name).read_bytes() == (merged / name).read_bytes(), name
    generation = json.loads((staged / "generation_config.json").read_text())
    assert decoding_settings(params.sft).items() <= generation.items()

    tokenizer = AutoTokenizer.from_pretrained(staged)
    model = AutoModelForCausalLM.from_pretrained(staged)
    assert model.generation_config.max_new_tokens == params.sft.sample_max_new_tokens
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "한국의 수도는 어디인가요?"}],
        add_generation_prompt=True,
        return_dict=True,
        return_tensors="pt",
    )
    out = model.generate(**prompt, max_new_tokens=8)
    assert out.shape[1] == prompt["input_ids"].shape[1] + 8  # greedy, no EOS yet in a demo model

    # The staged adapter on the pretrained model is the staged merged model.
    base = AutoModelForCausalLM.from_pretrained(root / "models" / "pretrain" / "model")
    adapted = PeftModel.from_pretrained(base, staged / "adapter")
    adapter_config = json.loads((staged / "adapter" / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] is None  # a local path means nothing on the Hub
    with torch.no_grad():
        diff = (adapted(**prompt).logits - model(**prompt).logits).abs().max()
    assert diff < 1e-4

    # The card: metadata and model-index as the Hub parses them, numbers from the pipeline's files.
    card = ModelCard.load(staged / "README.md")
    assert card.data.language == "ko" and card.data.license == "apache-2.0"
    assert card.data.pipeline_tag == "text-generation" and "korean" in card.data.tags
    board = json.loads((root / "metrics" / "eval.json").read_text())["sft"]
    record = json.loads((root / "reports" / "eval" / "results.json").read_text())
    results = {r.dataset_type + "/" + (r.dataset_config or ""): r for r in card.data.eval_results}
    assert set(results) == {
        "skt/kobest_v1/boolq",
        "skt/kobest_v1/copa",
        "skt/kobest_v1/hellaswag",
        "skt/kobest_v1/sentineg",
        "skt/kobest_v1/wic",
        "HAERAE-HUB/KMMLU/",
        "nlpai-lab/ko_commongen_v2/",
        "HAERAE-HUB/HAE_RAE_BENCH/",
        "EunsuKim/CLIcK/",
    }
    titles = {info["title"]: task for task, info in record["tasks"].items()}
    for result in card.data.eval_results:
        assert result.dataset_name.endswith(" (demo sample)")
        task = titles[result.dataset_name.removesuffix(" (demo sample)")]
        assert result.metric_value == round(100 * board[task], 2), task
    clean = json.loads((root / "metrics" / "clean.json").read_text())
    vocab = json.loads((root / "metrics" / "vocab.json").read_text())
    for text in (
        "## 사용법 (Usage)",
        "## 평가 (Evaluation)",
        "데모 모델입니다",
        "This is the pipeline's CPU demo",
        f"{clean['read']:,} documents read, {clean['kept']:,} kept",
        f"+{vocab['added_pieces']:,} pieces",
        f"| sft | {100 * board[next(iter(record['tasks']))]:.2f}",  # the table's row
        "data/instructions/demo_ko.jsonl`: apache-2.0",
    ):
        assert text in card.text, text
    assert "비상업적" not in card.text

    # What a push would send, with checksums.
    report = json.loads((root / "metrics" / "publish.json").read_text())
    listed = {f["path"]: f for f in report["files"]}
    on_disk = {str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file()}
    assert set(listed) == on_disk - {".ko-publish"}
    readme = listed["README.md"]
    assert readme["sha256"] == hashlib.sha256((staged / "README.md").read_bytes()).hexdigest()
    assert report["pushed"] is False and report["commit_url"] is None
    assert report["staged_max_abs_logit_diff"] == 0.0 and report["sample"]


@pytest.mark.integration
@pytest.mark.slow
def test_push_reaches_the_hub_and_the_token_stays_secret(demo_pipeline, tmp_path):
    root, env, _ = demo_pipeline
    out, metrics = tmp_path / "staged", tmp_path / "publish.json"
    with FakeHub(FAKE_TOKEN) as hub:
        hub_env = {
            **no_token_env(env, tmp_path / "hf_home"),
            "HF_TOKEN": FAKE_TOKEN,
            "HF_ENDPOINT": hub.endpoint,
            "HF_HUB_DISABLE_XET": "1",  # the inline upload protocol the stand-in speaks
        }
        done = publish(
            root,
            hub_env,
            "--output",
            str(out),
            "--metrics",
            str(metrics),
            "--push",
            "--repo-id",
            "kolab/ko-llama-demo",
            "--set",
            "publish.revision=exp-1",
            "--set",
            "publish.base_license=llama2",
            "--set",
            'publish.data_licenses=["data/instructions/demo_ko.jsonl=CC BY-NC 4.0"]',
            "--set",
            "publish.datasets=[beomi/KoAlpaca-v1.1a]",
            "--set",
            "base.model=meta-llama/Llama-2-7b-hf",  # what the card says the base was
        )
    assert done.returncode == 0, done.stderr[-3000:]

    repo = hub.repos["kolab/ko-llama-demo"]
    assert repo["create"]["visibility"] == "private"
    assert repo["branches"] == {"main", "exp-1"}
    [commit] = repo["commits"]
    assert commit["branch"] == "exp-1"
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout
    lock = hashlib.sha256((root / "dvc.lock").read_bytes()).hexdigest()
    assert f"git {revision.strip()[:12]}" in commit["header"]["summary"]
    assert f"dvc.lock {lock[:12]}" in commit["header"]["summary"]
    staged = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    staged.pop(".ko-publish")
    assert commit["files"] == staged  # every staged file, byte for byte, and nothing else
    # The token went only into the Authorization header of the Hub's requests.
    authed = [r for r in hub.requests if r["authorization"]]
    assert authed and all(r["authorization"] == f"Bearer {FAKE_TOKEN}" for r in authed)

    report = json.loads(metrics.read_text())
    assert report["pushed"] is True and report["commit_url"].startswith(hub.endpoint)
    card = (out / "README.md").read_text()
    assert "license: other" in card and "license_name: llama2-and-cc-by-nc-4.0" in card
    assert "비상업적 이용만 가능합니다" in card and "Non-commercial use only" in card
    assert "- non-commercial" in card
    assert "base_model: meta-llama/Llama-2-7b-hf" in card and "datasets:\n- beomi/KoAlpaca-v1.1a" in card
    assert "`meta-llama/Llama-2-7b-hf`에 한국어 어휘" in card and "데모 모델입니다" not in card
    everything = [done.stdout, done.stderr, metrics.read_text()]
    everything += [p.read_bytes().decode("utf-8", "replace") for p in out.rglob("*") if p.is_file()]
    assert all(FAKE_TOKEN not in text for text in everything)
    assert all(FAKE_TOKEN[3:12] not in text for text in everything)  # nor a piece of it


@pytest.mark.integration
def test_push_without_token_or_with_a_refused_one_stops_before_any_work(demo_pipeline, tmp_path):
    root, env, _ = demo_pipeline
    out = tmp_path / "staged"
    bare = no_token_env(env, tmp_path / "hf_home")
    done = publish(root, bare, "--output", str(out), "--push", "--repo-id", "kolab/x")
    assert done.returncode == 1
    assert "pushing needs a Hugging Face token with write access: export HF_TOKEN" in done.stderr
    assert not out.exists() and "Loading weights" not in done.stderr

    done = publish(root, {**bare, "HF_TOKEN": FAKE_TOKEN}, "--output", str(out), "--push")
    assert done.returncode == 1 and "pushing needs publish.repo_id" in done.stderr and not out.exists()

    with FakeHub("hf_another_token") as hub:
        refused = {**bare, "HF_TOKEN": FAKE_TOKEN, "HF_ENDPOINT": hub.endpoint}
        done = publish(root, refused, "--output", str(out), "--push", "--repo-id", "kolab/x")
    assert done.returncode == 1 and "the Hub refused the token (HTTP 401)" in done.stderr
    assert not out.exists() and not hub.repos
    assert FAKE_TOKEN not in done.stdout + done.stderr


@pytest.mark.integration
def test_dry_run_refuses_a_folder_it_did_not_stage(demo_pipeline, tmp_path):
    root, env, _ = demo_pipeline
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    done = publish(root, no_token_env(env, tmp_path / "hf_home"), "--output", str(precious))
    assert done.returncode == 1 and "not staged by ko-publish" in done.stderr
    assert (precious / "notes.txt").read_text() == "keep me"


def test_missing_eval_results_and_metrics_are_named(demo_base, tmp_path):
    from pipeline.config import Params
    from pipeline.publish import publish_model

    run = functools.partial(
        publish_model,
        PublishConfig(include_adapter=False),
        Params(),
        demo_base,
        tmp_path / "out",
        eval_results=tmp_path / "r.json",
        pipeline_metrics=tmp_path,
    )
    with pytest.raises(StageError, match="no such file; run ko-eval"):
        run()
    (tmp_path / "r.json").write_text(json.dumps({"models": {}, "tasks": {}}))
    with pytest.raises(StageError, match=r"clean.json: not found; the card quotes it \(run the clean stage"):
        run()
    assert not (tmp_path / "out").exists()
