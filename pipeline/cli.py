"""What every `ko-<stage>` command shares: flags, params resolution, resolved-config and metrics files.

Kept free of heavy imports so that `ko-<stage> --help` answers at once and never imports torch.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.config import Params, load_params
from pipeline.params import ParamsError, dump_yaml

DEFAULT_PARAMS = "params.yaml"
RESOLVED_NAME = "resolved_params.yaml"

log = logging.getLogger("ko")


class StageError(RuntimeError):
    """A run failed for a reason the user can fix (missing file, unreachable model): one line, exit 1."""


def stage_parser(
    stage: str,
    description: str,
    section_cls: type,
    *,
    output_default: str,
    inputs: bool = False,
    inputs_help: str | None = None,
    model: str | None = None,
    model_key: str | None = None,
) -> argparse.ArgumentParser:
    """The `ko-<stage>` parser: --params, [--input], [--model], --output, --metrics, --set, --dry-run.

    `model` is the help text of --model, or None when the stage takes no model; `model_key`
    names the key of the stage's section that --model overrides, if any.
    """
    keys = ", ".join(f.name for f in dataclasses.fields(section_cls))
    parser = argparse.ArgumentParser(
        prog=f"ko-{stage}",
        description=description,
        epilog=(
            f"Keys of the '{section_cls.SECTION}' section (see params.yaml for what each trades off): "
            f"{keys}.\nExit status: 0 on success, 1 on a failed run, 2 on bad arguments or params."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--params",
        metavar="FILE",
        help=f"params file (default: ./{DEFAULT_PARAMS} if present, else built-in defaults)",
    )
    if inputs:
        # With inputs_help the stage reads its inputs from params unless --input is given.
        parser.add_argument(
            "--input",
            nargs="+",
            metavar="PATH",
            required=inputs_help is None,
            help=inputs_help or "input files or directories",
        )
    if model is not None:
        parser.add_argument("--model", metavar="DIR_OR_ID", help=model)
    parser.add_argument(
        "--output",
        metavar="DIR",
        default=output_default,
        help=f"output directory (default: {output_default})",
    )
    parser.add_argument(
        "--metrics", metavar="FILE", help="metrics JSON to write (default: OUTPUT/metrics.json)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one params value (repeatable); the value is parsed as YAML",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the resolved params and exit without work"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only; no progress bars")
    parser.set_defaults(section=section_cls.SECTION, stage=stage, model_key=model_key)
    return parser


def resolve_params(args: argparse.Namespace) -> Params:
    """Load --params (or ./params.yaml, or defaults) with the --set overrides, then --model, applied."""
    path = args.params
    if path is None and Path(DEFAULT_PARAMS).is_file():
        path = DEFAULT_PARAMS
    params = load_params(path, args.overrides)
    if args.model_key and getattr(args, "model", None):
        section = getattr(params, args.section)
        section = dataclasses.replace(section, **{args.model_key: args.model})
        params = params.replace(**{args.section: section})
    return params


def write_resolved(output: Path, stage: str, params: Params, section: str, run: Mapping[str, Any]) -> Path:
    """Write the params this run used (its own section plus its arguments) next to its outputs."""
    output.mkdir(parents=True, exist_ok=True)
    path = output / RESOLVED_NAME
    path.write_text(
        f"# Resolved params of ko-{stage}: what this output was made with.\n"
        + dump_yaml({"stage": stage, "run": dict(run), section: params.to_dict()[section]}),
        encoding="utf-8",
    )
    return path


def write_metrics(path: Path, metrics: Mapping[str, Any]) -> Path:
    """Write a stage's metrics as JSON (what `dvc metrics show` reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(metrics), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def run_stage(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    body: Callable[[argparse.Namespace, Params], None],
) -> int:
    """Parse arguments, resolve params, echo them, then run `body` (unless --dry-run).

    Params errors exit with status 2 and a StageError with status 1, each with a one-line
    message; anything else is a bug and propagates with its traceback.
    """
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        params = resolve_params(args)
    except ParamsError as exc:
        parser.error(str(exc))
    print(dump_yaml({args.section: params.to_dict()[args.section]}), end="")
    if args.dry_run:
        return 0
    try:
        body(args, params)
    except ParamsError as exc:
        parser.error(str(exc))
    except StageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    return 0
