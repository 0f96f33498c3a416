"""ko-publish on the demo pipeline's real outputs: the staged folder loads and generates, the card
parses with the Hub's own parser, the token stays out of every file and log line, and a push through
huggingface_hub's real upload code reaches a local stand-in for the Hub."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import StageError
from pipeline.config import PublishConfig
from pipeline.model_card import DataSource, card_licence, data_sources
from pipeline.params import ParamsError
from tests.conftest import shared_path, tiny_llama
from tests.hub_server import FakeHub

FAKE_TOKEN = "hf_kollamaFakeToken0123456789abcdefXYZ"
# Files the Hub stores through LFS among those ko-publish stages.
LFS_NAMES = ("*.safetensors", "tokenizer.model")


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


def is_hub_setting(name: str) -> bool:
    """An environment variable that changes what huggingface_hub does or where its requests go: the
    caller's HF_TOKEN, HF_HUB_OFFLINE, HF_ENDPOINT, HF_HUB_DISABLE_XET, HF_TOKEN_PATH, proxies..."""
    upper = name.upper()
    return upper.startswith(("HF_", "HUGGING_FACE_", "TRANSFORMERS_OFFLINE")) or upper in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
    )


def no_token_env(env: dict, home: Path) -> dict:
    """`env` with none of the caller's Hub settings (no HF_TOKEN, no HF_HUB_OFFLINE, no proxy...) and an
    empty Hugging Face home, so no stored login either: each test sets what it needs."""
    return {**{k: v for k, v in env.items() if not is_hub_setting(k)}, "HF_HOME": str(home)}


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lfs_files(folder: Path) -> dict[str, Path]:
    """The staged files the Hub keeps in LFS, by path in the repository."""
    paths = {p for name in LFS_NAMES for p in folder.rglob(name)}
    return {str(p.relative_to(folder)): p for p in paths}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- licences, without the pipeline ---


def test_licences_from_sft_inputs_and_corpus_sources_reach_the_card():
    sft = {"sources": [{"input": "/data/mine.jsonl", "license": "cc-by-nc-sa-4.0"}]}
    corpus = {
        "sources": [{"name": "ko_precedents", "license": "public-domain"}, {"name": "web", "license": ""}]
    }
    sources = data_sources(PublishConfig(), sft, corpus)
    assert sources == [
        DataSource("/data/mine.jsonl", "sft", "cc-by-nc-sa-4.0"),
        DataSource("ko_precedents", "pretrain", "public-domain"),
    ]
    assert card_licence("llama2", sources) == ("other", "llama2-and-cc-by-nc-sa-4.0")
    # publish.data_licenses, said when publishing, overrides the entry's licence.
    declared = PublishConfig(data_licenses=("mine.jsonl=apache-2.0",))
    assert data_sources(declared, sft)[0].licence == "apache-2.0"


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


# --- the push, on a small staged folder and a local stand-in for the Hub ---


@pytest.fixture
def local_hub(monkeypatch, tmp_path):
    """Start a FakeHub (`local_hub(**options)`) that huggingface_hub in this process talks to, with
    none of the caller's Hub settings: huggingface_hub read HF_HUB_OFFLINE, HF_ENDPOINT,
    HF_HUB_DISABLE_XET and HF_TOKEN_PATH into constants when imported, so those are set too."""
    from huggingface_hub import close_session, constants

    for name in list(os.environ):
        if is_hub_setting(name):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # LFS: the protocol the stand-in speaks
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf_home" / "token"))
    close_session()  # the shared HTTP client read the proxy settings when it was made
    with contextlib.ExitStack() as hubs:

        def start(**options) -> FakeHub:
            hub = hubs.enter_context(FakeHub(FAKE_TOKEN, **options))
            monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
            return hub

        yield start
    close_session()


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> Path:
    """A folder as ko-publish stages it, in small: a 1-layer Llama in 1 MB safetensors shards,
    Llama-2's tokenizer.model, a card and the marker."""
    from pipeline.publish import MARKER

    folder = tmp_path_factory.mktemp("staged")
    tiny_llama().save_pretrained(folder, max_shard_size="1MB")
    shutil.copyfile(shared_path("tokenizers", "llama2", "tokenizer.model"), folder / "tokenizer.model")
    (folder / "README.md").write_text("---\nlanguage: ko\nlicense: apache-2.0\n---\n# ko-llama test\n")
    (folder / MARKER).write_text("staged by ko-publish\n")
    return folder


def push(folder: Path, repo_id: str = "kolab/ko-llama-test", revision: str = "") -> str:
    from pipeline.publish import push_folder

    config = PublishConfig(repo_id=repo_id, revision=revision)
    return push_folder(config, folder, FAKE_TOKEN, "ko-publish test: git 0123abcd", "the card's summary")


def test_shards_go_up_through_lfs_with_their_sha256(local_hub, staged):
    hub = local_hub()
    url = push(staged, revision="exp-1")

    repo = hub.repos["kolab/ko-llama-test"]
    [commit] = repo["commits"]
    assert url == f"{hub.endpoint}/kolab/ko-llama-test/commit/{repo['heads']['exp-1']}"
    assert commit["branch"] == "exp-1" and commit["header"]["summary"] == "ko-publish test: git 0123abcd"
    lfs = lfs_files(staged)
    assert sum(path.endswith(".safetensors") for path in lfs) > 1  # the shards, and tokenizer.model
    # The Hub got each object once, whole, with its sha256; the commit points to them as LFS files.
    assert sorted((u["oid"], u["size"]) for u in hub.uploads) == sorted(
        (sha256(p), p.stat().st_size) for p in lfs.values()
    )
    assert all(hub.objects[sha256(p)] == p.read_bytes() for p in lfs.values())
    assert commit["lfs_files"] == {
        path: {"path": path, "algo": "sha256", "oid": sha256(p), "size": p.stat().st_size}
        for path, p in lfs.items()
    }
    staged_bytes = {str(p.relative_to(staged)): p.read_bytes() for p in staged.rglob("*") if p.is_file()}
    staged_bytes.pop(".ko-publish")
    assert commit["files"] == {k: v for k, v in staged_bytes.items() if k not in lfs}  # config, card...
    assert {k: v for k, v in hub.tree("kolab/ko-llama-test", "exp-1").items() if k != ".gitattributes"} == (
        staged_bytes
    )
    # The token went only into the Authorization header of Hub API requests; uploads carry none.
    assert all(r["authorization"] in ("", f"Bearer {FAKE_TOKEN}") for r in hub.requests)
    assert all(not r["authorization"] for r in hub.requests if r["path"].startswith("/storage/"))


def test_a_push_refused_midway_resumes_without_sending_stored_objects_again(local_hub, staged):
    hub = local_hub(part_size=256 * 1024)  # shards go up in parts, as real multi-GB shards do
    hub.refuse_upload(2)
    with pytest.raises(StageError) as failed:
        push(staged)
    message = str(failed.value)
    assert message.startswith("the push to kolab/ko-llama-test failed: ") and "\n" not in message
    assert "HTTP 403 from 127.0.0.1/storage/" in message and "run the same command again" in message
    assert FAKE_TOKEN not in message and "Signature" not in message
    assert hub.repos["kolab/ko-llama-test"]["commits"] == []
    stored, uploaded = set(hub.objects), len(hub.uploads)
    lfs = {sha256(p) for p in lfs_files(staged).values()}
    assert hub.refused and set(hub.refused) <= lfs - stored and stored

    url = push(staged)  # the same command again
    assert sorted(u["oid"] for u in hub.uploads[uploaded:]) == sorted(lfs - stored)
    assert all(u["parts"] > 1 for u in hub.uploads if u["size"] > 256 * 1024)
    [commit] = hub.repos["kolab/ko-llama-test"]["commits"]
    assert {pointer["oid"] for pointer in commit["lfs_files"].values()} == lfs

    # Once more, with everything there: no upload, no empty commit, the same commit's URL.
    assert push(staged) == url and len(hub.uploads) == uploaded + len(lfs - stored)
    assert len(hub.repos["kolab/ko-llama-test"]["commits"]) == 1


def test_unreachable_hub_stops_the_cli_with_one_line(tmp_path):
    """`ko-publish --push` with the Hub out of reach, and with HF_HUB_OFFLINE set: exit 1, one line."""
    env = {**no_token_env(dict(os.environ), tmp_path / "hf_home"), "HF_TOKEN": FAKE_TOKEN}
    args = ("--output", str(tmp_path / "out"), "--push", "--repo-id", "kolab/x")
    endpoint = f"http://127.0.0.1:{closed_port()}"
    for extra, reason in (
        ({"HF_ENDPOINT": endpoint}, f"at {endpoint}: ConnectError: [Errno 111] Connection refused"),
        ({"HF_HUB_OFFLINE": "1"}, "HF_HUB_OFFLINE is set"),
    ):
        done = publish(tmp_path, {**env, **extra}, *args)
        assert done.returncode == 1, done.stderr
        [line] = done.stderr.splitlines()
        assert line.startswith("ko-publish: error: cannot check the token with the Hub ") and reason in line
        assert line.endswith("nothing was staged") and FAKE_TOKEN not in done.stdout + done.stderr
        assert not (tmp_path / "out").exists()


def test_dns_and_proxy_failures_are_named_in_one_line(local_hub, monkeypatch):
    from huggingface_hub import close_session, constants

    from pipeline.publish import check_push_access

    config = PublishConfig(repo_id="kolab/x")
    monkeypatch.setattr(constants, "ENDPOINT", "http://hub.invalid")  # a name no resolver knows
    with pytest.raises(StageError, match=r"at http://hub.invalid: ConnectError: \[Errno -?\d+\] ") as failed:
        check_push_access(config, FAKE_TOKEN)
    assert "\n" not in str(failed.value) and FAKE_TOKEN not in str(failed.value)

    proxy = local_hub()  # as HTTPS_PROXY it answers CONNECT with 407
    monkeypatch.setattr(constants, "ENDPOINT", "https://hub.invalid")
    monkeypatch.setenv("HTTPS_PROXY", proxy.endpoint)
    close_session()
    with pytest.raises(StageError, match="at https://hub.invalid: ProxyError: 407 Proxy Authentication Req"):
        check_push_access(config, FAKE_TOKEN)
    assert [r["method"] for r in proxy.requests] == ["CONNECT"]


def test_hub_failure_reads_down_the_wrapped_errors():
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    from pipeline.publish import hub_failure, redact

    client = importlib.import_module(HfHubHTTPError.__mro__[1].__module__.split(".")[0])  # httpx or httpx2

    def wrapped(error: BaseException) -> RuntimeError:  # as huggingface_hub wraps an LFS upload's
        try:
            raise RuntimeError(
                "Error while uploading 'model-00001-of-00003.safetensors' to the Hub."
            ) from error
        except RuntimeError as exc:
            return exc

    timeout = wrapped(client.WriteTimeout("The write operation timed out"))
    assert hub_failure(timeout) == (
        "Error while uploading 'model-00001-of-00003.safetensors' to the Hub: "
        "WriteTimeout: The write operation timed out"
    )
    assert hub_failure(client.ReadTimeout("")) == "ReadTimeout"
    assert (
        hub_failure(ConnectionError("Network error:\nno route")) == "ConnectionError: Network error: no route"
    )
    assert hub_failure(OfflineModeIsEnabled("offline")).startswith("HF_HUB_OFFLINE is set")
    assert hub_failure(ValueError("not a network error")) is None  # a bug: its traceback stays
    assert redact(f"Bearer {FAKE_TOKEN} refused", FAKE_TOKEN) == "Bearer hf_*** refused"


def test_with_hf_xet_the_shards_take_xet_and_its_failures_are_one_line(local_hub, staged, monkeypatch):
    """hf_xet installed (huggingface_hub's default): shards go to Xet's CAS, not LFS. The CAS protocol
    cannot be stood in, so the stand-in points hf_xet at a closed port."""
    pytest.importorskip("hf_xet")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    # hf_xet retries a lost CAS for minutes; once, at once, here.
    monkeypatch.setenv("HF_XET_CLIENT_RETRY_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("HF_XET_CLIENT_RETRY_MAX_DURATION", "1s")
    monkeypatch.setenv("HF_XET_CLIENT_RETRY_BASE_DELAY", "10ms")
    hub = local_hub(cas_url=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(StageError, match=r"failed: ConnectionError: .*run the same command again") as failed:
        push(staged)
    assert "\n" not in str(failed.value) and FAKE_TOKEN not in str(failed.value)
    paths = [r["path"] for r in hub.requests]
    assert "/api/models/kolab/ko-llama-test/xet-write-token/main" in paths
    assert not any("/info/lfs/" in path for path in paths) and not hub.repos["kolab/ko-llama-test"]["commits"]


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
        # English retention, scored in the same table
        "EleutherAI/lambada_openai/",
        "baber/piqa/",
        "Rowan/hellaswag/",
        "allenai/ai2_arc/ARC-Easy",
        "allenai/ai2_arc/ARC-Challenge",
        "allenai/winogrande/winogrande_xl",
        "cais/mmlu/",
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

    report = json.loads(metrics.read_text())
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
    # The shards (and the adapter, and tokenizer.model) went through LFS, the rest inline.
    lfs = lfs_files(out)
    assert sum(path.startswith("model-") for path in lfs) == report["shards"] > 1
    assert commit["lfs_files"] == {
        path: {"path": path, "algo": "sha256", "oid": sha256(p), "size": p.stat().st_size}
        for path, p in lfs.items()
    }
    assert {u["oid"] for u in hub.uploads} == {sha256(p) for p in lfs.values()}
    assert commit["files"] == {path: data for path, data in staged.items() if path not in lfs}
    # Every staged file is on the branch, byte for byte, and nothing else.
    assert {
        k: v for k, v in hub.tree("kolab/ko-llama-demo", "exp-1").items() if k != ".gitattributes"
    } == staged
    # The token went only into the Authorization header of the Hub's requests.
    authed = [r for r in hub.requests if r["authorization"]]
    assert authed and all(r["authorization"] == f"Bearer {FAKE_TOKEN}" for r in authed)

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


@pytest.mark.integration
@pytest.mark.slow
def test_a_push_broken_midway_resumes_when_run_again(demo_pipeline, tmp_path):
    root, env, _ = demo_pipeline
    out = tmp_path / "staged"
    args = ("--output", str(out), "--push", "--repo-id", "kolab/ko-llama-resume")
    # 512 KiB parts: the demo's 2 MB shards go up in parts, as real shards do.
    with FakeHub(FAKE_TOKEN, part_size=512 * 1024) as hub:
        hub_env = {
            **no_token_env(env, tmp_path / "hf_home"),
            "HF_TOKEN": FAKE_TOKEN,
            "HF_ENDPOINT": hub.endpoint,
            "HF_HUB_DISABLE_XET": "1",
        }
        hub.refuse_upload(2)
        broken = publish(root, hub_env, *args)
        stored = set(hub.objects)
        uploaded = len(hub.uploads)
        resumed = publish(root, hub_env, *args)  # stages again: the same bytes, so the same objects
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    [error] = [line for line in broken.stderr.splitlines() if line.startswith("ko-publish: error:")]
    assert "the push to kolab/ko-llama-resume failed: " in error and "HTTP 403" in error
    assert "run the same command again to resume" in error
    assert FAKE_TOKEN not in broken.stdout + broken.stderr
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    [commit] = hub.repos["kolab/ko-llama-resume"]["commits"]  # the broken push committed nothing
    lfs = {path: sha256(p) for path, p in lfs_files(out).items()}
    assert {path: pointer["oid"] for path, pointer in commit["lfs_files"].items()} == lfs
    assert hub.refused and set(hub.refused) <= set(lfs.values()) - stored
    assert stored  # the broken push left objects on the Hub, and the re-run did not send them again
    assert sorted(u["oid"] for u in hub.uploads[uploaded:]) == sorted(set(lfs.values()) - stored)
