"""`ko-publish`: stage the tuned model for the Hugging Face Hub, with a card made from the pipeline's
own outputs, and push it when asked.

Staged in OUTPUT: the merged model as sharded safetensors; its tokenizer (tokenizer.model, the
Hugging Face files and the chat template it was tuned with); generation_config.json with the
decoding settings of the sft stage's samples; README.md, the model card in Korean and English with
a model-index of the eval results; training_params.yaml (every params section); and, with
publish.include_adapter, the LoRA adapter under adapter/. Before anything is uploaded the staged
folder is loaded again, its logits are compared with the source model's and it generates.

A dry run unless publish.push or --push: then the repository is created (private by default), and
the folder is uploaded in one commit whose message names the git revision and the dvc.lock hash.
A push that fails midway stops with a one-line error; running it again resumes it (files the Hub
already holds are not sent again).
The token comes only from HF_TOKEN or the stored `hf auth login`. It is checked before any work,
and never written to a file, a log or the card.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.util
import json
import logging
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.cli import StageError
from pipeline.config import Params, PublishConfig
from pipeline.deps import require_module
from tokenizer.hf_export import HF_FILES

log = logging.getLogger("ko.publish")

# Marks a folder this command staged, so a re-run may clear it; never uploaded.
MARKER = ".ko-publish"
TOKENIZER_FILES = (*HF_FILES, "chat_template.jinja")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
# The probe that the staged model must score like the source and continue.
PROBE = "대한민국의 수도는"


@dataclass(frozen=True)
class PublishReport:
    """The publish stage's metrics."""

    repo_id: str
    pushed: bool
    commit_message: str
    commit_url: str | None
    files: list[dict]  # every staged file: path, bytes, sha256
    total_bytes: int
    shards: int
    license: str
    eval_model: str  # the row of the eval results the card reports
    staged_max_abs_logit_diff: float  # staged model vs --model, on PROBE
    sample: str  # what the staged model generated for a chat prompt
    git_revision: str
    dvc_lock_sha256: str | None
    seconds: float


def publish_model(
    config: PublishConfig,
    params: Params,
    model_dir: Path,
    output: Path,
    *,
    eval_results: Path,
    pipeline_metrics: Path,
    adapter_dir: Path | None = None,
    project: Path = Path("."),
) -> PublishReport:
    """Stage `model_dir` with its card in `output`, check it, and push it if config.push."""
    from pipeline.model_card import build_card, read_pipeline_metrics

    for module in ("torch", "transformers", "huggingface_hub"):
        require_module(module, extra="model")
    start = time.perf_counter()
    if not log.isEnabledFor(logging.INFO):  # --quiet: no loading bars either
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    token = hub_token()
    if config.push:
        check_push_access(config, token)
    if not (model_dir / "config.json").is_file():
        raise StageError(f"--model {model_dir}: not a Hugging Face model directory (no config.json)")
    if config.include_adapter and (adapter_dir is None or not (adapter_dir / ADAPTER_FILES[0]).is_file()):
        raise StageError(
            f"publish.include_adapter is true but --adapter {adapter_dir} holds no {ADAPTER_FILES[0]}"
        )
    if not eval_results.is_file():
        raise StageError(f"--eval {eval_results}: no such file; run ko-eval on --model first")
    record = json.loads(eval_results.read_text(encoding="utf-8"))
    metrics = read_pipeline_metrics(pipeline_metrics)
    origin = provenance(project)

    prepare_output(output)
    shards, expected = stage_weights(model_dir, output, config.max_shard_size)
    stage_tokenizer(model_dir, output)
    write_generation_config(model_dir, output, params)
    if config.include_adapter:
        stage_adapter(adapter_dir, output)
    write_training_params(output, params)
    title = config.model_name or (config.repo_id.split("/")[-1] if config.repo_id else output.name)
    card = build_card(config, params, title, model_dir, record, metrics, origin)
    (output / "README.md").write_text(str(card.text), encoding="utf-8")
    diff, sample = check_staged(output, expected)

    leaks = files_containing(output, token)
    if leaks:  # paranoia that costs a read of the folder: a token must never leave this way
        raise StageError(f"staged files contain the Hugging Face token: {', '.join(leaks)}; nothing pushed")
    files = staged_files(output)
    message = commit_message(title, origin)
    commit_url = None
    if config.push:
        commit_url = push_folder(config, output, token, message, card.summary)
    else:
        log.info(
            "dry run: %d files (%.1f MB) would go to %s%s; set publish.push or pass --push to upload",
            len(files),
            sum(f["bytes"] for f in files) / 1e6,
            config.repo_id or "<publish.repo_id>",
            f" (branch {config.revision})" if config.revision else "",
        )
    return PublishReport(
        repo_id=config.repo_id,
        pushed=config.push,
        commit_message=message,
        commit_url=commit_url,
        files=files,
        total_bytes=sum(f["bytes"] for f in files),
        shards=shards,
        license=card.license,
        eval_model=card.eval_model,
        staged_max_abs_logit_diff=diff,
        sample=sample,
        git_revision=origin["git"],
        dvc_lock_sha256=origin["dvc_lock"],
        seconds=round(time.perf_counter() - start, 1),
    )


def hub_token() -> str | None:
    """HF_TOKEN, else the token stored by `hf auth login`; None when there is neither."""
    from huggingface_hub import get_token

    return get_token()


def check_push_access(config: PublishConfig, token: str | None) -> None:
    """Fail before any work when a push cannot succeed: no repo id, no token, or a token the Hub refuses."""
    if not config.repo_id:
        raise StageError("pushing needs publish.repo_id (or --repo-id) as OWNER/NAME")
    if not token:
        raise StageError(
            "pushing needs a Hugging Face token with write access: export HF_TOKEN=... or run "
            "`hf auth login`; nothing was staged"
        )
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=token)
    try:
        user = api.whoami()
    except Exception as exc:
        reason = hub_failure(exc)
        if reason is None:
            raise
        if isinstance(exc, HfHubHTTPError) and status_of(exc) in ("401", "403"):
            message = f"the Hub refused the token (HTTP {status_of(exc)}); nothing was staged"
        else:
            message = f"cannot check the token with the Hub at {api.endpoint}: {reason}; nothing was staged"
        raise StageError(redact(message, token)) from None
    log.info("pushing as %s to %s", user.get("name", "?"), config.repo_id)


def hub_failure(exc: BaseException) -> str | None:
    """One line saying why a request to the Hub failed, from `exc` and the errors it was raised from.

    None when none of them is a network or Hub error: that is a bug, and keeps its traceback.
    huggingface_hub wraps failures (an LFS upload's HTTP error in a RuntimeError naming the file), so
    the chain is read down to the error that says what happened, keeping the wrappers' words.
    """
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    # The HTTP client's own base error, which huggingface_hub's HTTP error extends (httpx's in 1.x,
    # httpx2's in 2.x): connect errors, timeouts, DNS and proxy failures are all of it. hf_xet raises
    # the builtin ConnectionError.
    client_error = HfHubHTTPError.__mro__[1]
    network = (client_error, ConnectionError, TimeoutError)
    context, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OfflineModeIsEnabled):
            reason = "HF_HUB_OFFLINE is set, so huggingface_hub sends no request; unset it to push"
        elif isinstance(exc, HfHubHTTPError):
            reason = f"HTTP {status_of(exc)}{request_of(exc)}"
            if exc.server_message:
                reason += f": {exc.server_message}"
        elif isinstance(exc, network):
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            if str(exc):
                context.append(str(exc).rstrip("."))
            exc = exc.__cause__ or exc.__context__
            continue
        return one_line(": ".join([*context, reason]))
    return None


def status_of(exc) -> str:
    """The HTTP status of a Hub error, or "?"."""
    response = getattr(exc, "response", None)
    return str(getattr(response, "status_code", "?"))


def request_of(exc) -> str:
    """The request a Hub error answered, as ' from HOST/PATH'; no query: presigned URLs sign with it."""
    try:
        url = exc.response.request.url
        return f" from {url.host}{url.path}"
    except (AttributeError, RuntimeError):  # no request attached to the response
        return ""


def one_line(text: str) -> str:
    """`text` with its line breaks and runs of spaces made single spaces."""
    return " ".join(str(text).split())


def redact(text: str, token: str | None) -> str:
    """`text` with the token, should it be there, masked: error text must never carry it."""
    return text.replace(token, "hf_***") if token else text


def prepare_output(output: Path) -> None:
    """An empty staging folder: a missing one is made, an earlier run's is cleared, any other refused."""
    if output.exists():
        if not output.is_dir():
            raise StageError(f"--output {output} is a file")
        if any(output.iterdir()) and not (output / MARKER).is_file():
            raise StageError(
                f"--output {output} is not empty and was not staged by ko-publish; choose an empty folder"
            )
        shutil.rmtree(output)
    output.mkdir(parents=True)
    (output / MARKER).write_text("staged by ko-publish; cleared by the next run\n")


def stage_weights(model_dir: Path, output: Path, max_shard_size: str):
    """The weights as safetensors shards of at most max_shard_size, in the dtype they were saved in.

    Returns the shard count and the source model's logits on PROBE, for check_staged: the model is
    loaded once, for both.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="auto")
    model.save_pretrained(output, max_shard_size=max_shard_size)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    probe = AutoTokenizer.from_pretrained(model_dir)(PROBE, return_tensors="pt").to(device)
    with torch.no_grad():
        expected = model.to(device)(**probe).logits.float()
    del model  # one model in memory at a time
    return len(list(output.glob("*.safetensors"))), expected


def stage_tokenizer(model_dir: Path, output: Path) -> None:
    """The tokenizer files as tuned (copied, not re-exported: the ids must not move)."""
    if not (model_dir / "tokenizer.model").is_file():
        raise StageError(f"--model {model_dir}: no tokenizer.model (the SentencePiece model)")
    for name in TOKENIZER_FILES:
        if (model_dir / name).is_file():
            shutil.copyfile(model_dir / name, output / name)


def write_generation_config(model_dir: Path, output: Path, params: Params) -> None:
    """generation_config.json: the sft samples' decoding settings and the tokenizer's special ids."""
    from transformers import AutoTokenizer, GenerationConfig

    from pipeline.sft import decoding_settings

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    settings = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=pad,
        **decoding_settings(params.sft),
    )
    settings.validate(strict=True)
    settings.save_pretrained(output)


def stage_adapter(adapter_dir: Path, output: Path) -> None:
    """adapter/: the LoRA weights and config; the base path recorded in the config is local, so it goes."""
    target = output / "adapter"
    target.mkdir()
    for name in ADAPTER_FILES:
        shutil.copyfile(adapter_dir / name, target / name)
    config_path = target / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = None
    config_path.write_text(json.dumps(config, indent=2) + "\n")


def write_training_params(output: Path, params: Params) -> None:
    """training_params.yaml: every section the pipeline ran with (no secrets live in params)."""
    from pipeline.params import dump_yaml

    (output / "training_params.yaml").write_text(
        "# The params of the ko-llama run that made this model (params.yaml of the project).\n"
        + dump_yaml(params.to_dict()),
        encoding="utf-8",
    )


def check_staged(output: Path, expected) -> tuple[float, str]:
    """Load the staged folder as a user would: its logits on PROBE against the source's (`expected`),
    and a chat answer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer = AutoTokenizer.from_pretrained(output)
    probe = tokenizer(PROBE, return_tensors="pt").to(device)
    with torch.no_grad():
        staged = AutoModelForCausalLM.from_pretrained(output, dtype="auto").to(device)
        got = staged(**probe).logits.float()
        diff = float((expected - got).abs().max())
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": "한국어로 자기소개를 해 주세요."}],
            add_generation_prompt=True,
            return_dict=True,
            return_tensors="pt",
        ).to(device)
        out = staged.generate(**prompt, max_new_tokens=16)
    new_tokens = out[0, prompt["input_ids"].shape[1] :]
    if len(new_tokens) == 0:
        raise StageError(f"the staged model in {output} generated nothing")
    return round(diff, 8), tokenizer.decode(new_tokens, skip_special_tokens=True)


def files_containing(output: Path, secret: str | None) -> list[str]:
    """Staged files whose bytes contain `secret`."""
    if not secret:
        return []
    needle = secret.encode()
    return sorted(
        str(path.relative_to(output))
        for path in output.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    )


def staged_files(output: Path) -> list[dict]:
    """What an upload would send: every file but the marker, with size and sha256."""
    files = []
    for path in sorted(p for p in output.rglob("*") if p.is_file() and p.name != MARKER):
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        size = path.stat().st_size
        files.append({"path": str(path.relative_to(output)), "bytes": size, "sha256": digest.hexdigest()})
    return files


def provenance(project: Path) -> dict:
    """The git revision of the project (+dirty when code or params differ from it) and dvc.lock's sha256.

    dvc.lock and metrics/ change during every `dvc repro`, so they do not count as dirty: dvc.lock's
    hash stands for the outputs.
    """

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    revision = git("rev-parse", "HEAD")
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!dvc.lock", ":!metrics")
    lock = project / "dvc.lock"
    return {
        "git": revision or "unknown (not a git checkout)",
        "dirty": bool(changed),
        "dvc_lock": hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else None,
    }


def commit_message(title: str, origin: dict) -> str:
    """One line naming what made the upload: the git revision and the dvc.lock hash."""
    lock = origin["dvc_lock"][:12] if origin["dvc_lock"] else "none"
    dirty = "+dirty" if origin["dirty"] else ""
    return f"ko-publish {title}: git {origin['git'][:12]}{dirty}, dvc.lock {lock}"


def push_folder(config: PublishConfig, output: Path, token: str, message: str, description: str) -> str:
    """Create the repository (and branch) if needed and upload the staged folder.

    huggingface_hub's upload_folder takes the way the installed client offers. With hf_xet installed
    (huggingface_hub's default) files go through Xet: chunked, deduplicated, committed in batches of
    up to 256 files, so a model folder is one commit, and a re-run after a failure sends only chunks
    the Hub lacks. Without it, one commit through LFS: a re-run skips every file whose object the Hub
    already stores. Either way a failed push is resumed by running the same command again.
    """
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    sizes = [p.stat().st_size for p in output.rglob("*") if p.is_file() and p.name != MARKER]
    log.info(
        "uploading %d files (%.2f GB) to %s%s through %s",
        len(sizes),
        sum(sizes) / 1e9,
        config.repo_id,
        f" (branch {config.revision})" if config.revision else "",
        upload_protocol(),
    )
    try:
        api.create_repo(config.repo_id, private=config.private, exist_ok=True)
        if config.revision:
            api.create_branch(config.repo_id, branch=config.revision, exist_ok=True)
        info = api.upload_folder(
            repo_id=config.repo_id,
            folder_path=output,
            commit_message=message,
            commit_description=description,
            revision=config.revision or None,
            ignore_patterns=[MARKER],
        )
    except Exception as exc:
        reason = hub_failure(exc)
        if reason is not None:
            text = (
                f"the push to {config.repo_id} failed: {reason}; the staged folder {output} is intact: "
                "run the same command again to resume (what the Hub already holds is not sent again)"
            )
        elif isinstance(exc, ValueError) and "README.md" in str(exc):  # the Hub's check of the card
            text = f"the Hub rejected the model card: {one_line(exc)}; nothing was pushed"
        elif isinstance(exc, ValueError):  # e.g. the LFS batch API's per-object errors (quota, size)
            text = f"the Hub refused the push to {config.repo_id}: {one_line(exc)}"
        else:
            raise
        raise StageError(redact(text, token)) from None
    url = getattr(info, "commit_url", None) or str(info)
    log.info("pushed %s", url)
    return url


def upload_protocol() -> str:
    """How upload_folder will send the files: "Xet" (through hf_xet) or "LFS". They resume differently."""
    from huggingface_hub import constants

    # The test huggingface_hub makes (utils._runtime.is_xet_available, not a public name).
    return "LFS" if constants.HF_HUB_DISABLE_XET or importlib.util.find_spec("hf_xet") is None else "Xet"


class RepoIdOverride(argparse.Action):
    """--repo-id X appends the override publish.repo_id=X."""

    def __call__(self, parser, namespace, value, option_string=None):
        getattr(namespace, self.dest).append(f"publish.repo_id={value}")


def main(argv: list[str] | None = None) -> int:
    """Console entry point of `ko-publish`."""
    from pipeline.cli import run_stage, stage_parser, write_metrics

    parser = stage_parser(
        "publish",
        __doc__,
        PublishConfig,
        output_default="dist/hub",
        model="the merged model to publish, with its tokenizer (default: models/sft/merged)",
    )
    parser.add_argument(
        "--adapter",
        metavar="DIR",
        help="LoRA adapter staged under adapter/ when publish.include_adapter (default: models/sft/adapter)",
    )
    parser.add_argument(
        "--eval",
        metavar="FILE",
        default="reports/eval/results.json",
        help="ko-eval's results.json holding --model (default: reports/eval/results.json)",
    )
    parser.add_argument(
        "--pipeline-metrics",
        metavar="DIR",
        default="metrics",
        help="the stages' metrics (clean.json, vocab.json, pretrain.json, sft.json) the card "
        "quotes (default: metrics)",
    )
    # Both are params overrides, so the echoed params and training_params.yaml show them.
    parser.add_argument(
        "--push",
        dest="overrides",
        action="append_const",
        const="publish.push=true",
        help="upload (same as --set publish.push=true)",
    )
    parser.add_argument(
        "--repo-id",
        dest="overrides",
        action=RepoIdOverride,
        metavar="OWNER/NAME",
        help="the Hub repository (same as --set publish.repo_id=OWNER/NAME)",
    )

    def body(args, params):
        output = Path(args.output)
        report = publish_model(
            params.publish,
            params,
            Path(args.model or "models/sft/merged"),
            output,
            eval_results=Path(args.eval),
            pipeline_metrics=Path(args.pipeline_metrics),
            adapter_dir=Path(args.adapter or "models/sft/adapter"),
        )
        # The staged training_params.yaml is the resolved params; the metrics go after the upload.
        write_metrics(Path(args.metrics or output / "metrics.json"), dataclasses.asdict(report))
        verb = f"pushed to {report.commit_url}" if report.pushed else "dry run, nothing uploaded"
        print(f"{len(report.files)} files, {report.total_bytes / 1e6:.1f} MB staged in {output}: {verb}")

    return run_stage(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
