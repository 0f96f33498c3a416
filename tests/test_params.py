"""Params files load into their dataclasses; bad keys and values are rejected by name."""

from __future__ import annotations

import dataclasses
import typing

import pytest
import yaml

from pipeline.config import BaseConfig, Params, load_params, section_classes
from pipeline.params import ParamsError, apply_overrides
from tests.conftest import REPO

PARAMS_FILES = [REPO / "params.yaml", *sorted((REPO / "recipes").glob("*.yaml"))]


@pytest.mark.parametrize("path", PARAMS_FILES, ids=lambda p: p.name)
def test_every_shipped_params_file_loads_and_sets_every_key(path):
    params = load_params(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(raw) == set(section_classes()), "a shipped params file must carry every section"
    for name, cls in section_classes().items():
        assert isinstance(getattr(params, name), cls)
        # Full files: every key written out, so the file documents the whole configuration.
        assert set(raw[name]) == {f.name for f in dataclasses.fields(cls)}, f"{path.name}: section {name}"
        assert params.to_dict()[name] == without_entry_defaults(raw[name], cls)


def without_entry_defaults(section: dict, cls: type) -> dict:
    """A section as written, with list entries (sources, sft inputs) shorn of keys at their default:
    an entry may spell out `split: train`, and to_dict writes only what differs."""
    hints = typing.get_type_hints(cls)
    out = {}
    for key, value in section.items():
        entry_cls = typing.get_args(hints[key])[0] if typing.get_args(hints[key]) else None
        if isinstance(value, list) and dataclasses.is_dataclass(entry_cls):
            defaults = {f.name: f.default for f in dataclasses.fields(entry_cls)}
            value = [{k: v for k, v in item.items() if v != defaults[k]} for item in value]
        out[key] = value
    return out


def test_recipe_points_at_real_llama2():
    recipe = load_params(REPO / "recipes" / "llama2-7b-ko.yaml")
    assert recipe.base.model == "meta-llama/Llama-2-7b-hf"
    assert recipe.base.source_kind() == "hub"


def test_llama3_recipe_points_at_real_llama31_with_its_chat_format():
    recipe = load_params(REPO / "recipes" / "llama3-8b-ko.yaml")
    assert recipe.base.model == "meta-llama/Llama-3.1-8B" and recipe.base.source_kind() == "hub"
    # Llama-3's 128,256 ids (256 of them special) and at most 32,000 Korean tokens.
    assert recipe.vocab.target_vocab_size == 128_256 + 32_000
    assert recipe.sft.template == "llama3-chat" and recipe.publish.base_license == "llama3.1"
    assert recipe.vocab.boundaries == load_params(REPO / "params.yaml").vocab.boundaries


def test_demo_profile_is_the_offline_demo():
    assert load_params(REPO / "params.yaml").base.is_demo


def test_missing_file_and_sections_take_defaults(tmp_path):
    assert load_params(None) == Params()
    path = tmp_path / "p.yaml"
    path.write_text("base:\n  seed: 7\n")
    params = load_params(path)
    assert params.base == BaseConfig(seed=7)
    assert params.corpus == Params().corpus


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("base:\n  demo_hiden_size: 32\n")
    with pytest.raises(ParamsError, match=r"base\.demo_hiden_size \(did you mean base\.demo_hidden_size\?\)"):
        load_params(path)


def test_unknown_section_is_named(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("bsae:\n  seed: 1\n")
    with pytest.raises(ParamsError, match=r"unknown section\(s\) bsae"):
        load_params(path)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("base.seed=abc", r"base\.seed = 'abc': expected int, got str"),
        ("base.seed=true", r"base\.seed = True: expected int, got bool"),
        (
            "base.demo_num_heads=3",
            r"base\.demo_hidden_size = 64 must be divisible by base\.demo_num_heads = 3",
        ),
        ("base.demo_vocab_size=100", r"base\.demo_vocab_size = 100: must be at least 512"),
        ("base.demo_num_layers=0", r"base\.demo_num_layers = 0: must be positive"),
        ("corpus.sources=web", r"corpus\.sources = 'web': expected a list"),
        ("corpus.sources=[web]", r"corpus\.sources\[0\] = 'web': expected a mapping"),
        ("corpus.sources=[{builtin: web}]", r"corpus\.sources\[0\]\.builtin = 'web': expected one of ''"),
        (
            "pretrain.replay_sources=[]",
            r"pretrain\.replay_fraction = 0\.1 but pretrain\.replay_sources is empty",
        ),
        (
            "pretrain.replay_fraction=1.0",
            r"pretrain\.replay_fraction = 1\.0: a share of training tokens in \[0, 1\)",
        ),
        ("eval.bpc_texts={de: x.txt}", r"eval\.bpc_texts: unknown language\(s\) \['de'\]"),
        ("corpus.split_constitution=2", r"corpus\.split_constitution = 2: expected bool"),
        ("base.model=", r"base\.model is empty"),
        ("vocab.boundaries=strict", r"vocab\.boundaries = 'strict': expected one of 'morpheme'"),
        ("vocab.analysis_unit=word", r"vocab\.analysis_unit = 'word': expected one of 'eojeol', 'line'"),
        ("clean.pii_kinds=[phone, frn]", r"clean\.pii_kinds: unknown \['frn'\]; known: \['rrn'"),
    ],
)
def test_bad_values_name_key_and_value(override, message):
    with pytest.raises(ParamsError, match=message):
        load_params(REPO / "params.yaml", [override])


def test_lexical_boundaries_need_mecab():
    overrides = ["vocab.analyzer=komoran", "vocab.boundaries=lexical"]
    with pytest.raises(
        ParamsError, match=r"vocab\.boundaries = lexical reads MeCab's .* vocab\.analyzer is komoran"
    ):
        load_params(REPO / "params.yaml", overrides)


def test_overrides_parse_as_yaml_and_win_over_the_file():
    params = load_params(REPO / "params.yaml", ["base.seed=5", "base.model=meta-llama/Llama-2-7b-hf"])
    assert params.base.seed == 5
    assert params.base.model == "meta-llama/Llama-2-7b-hf"


@pytest.mark.parametrize("bad", ["seed=1", "base.seed", ".seed=1", "base.=1"])
def test_malformed_override_is_rejected(bad):
    with pytest.raises(ParamsError, match="expected section.key=value"):
        apply_overrides({}, [bad])


def test_invalid_yaml_and_non_mapping_files_are_rejected(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)
    bad.write_text("- a\n- b\n")
    with pytest.raises(ParamsError, match="expected a mapping of sections"):
        load_params(bad)
    bad.write_text("base: 3\n")
    with pytest.raises(ParamsError, match="section 'base' must be a mapping"):
        load_params(bad)
    with pytest.raises(ParamsError, match="params file not found"):
        load_params(tmp_path / "missing.yaml")


def test_model_source_kinds(tmp_path):
    assert BaseConfig(model="demo").source_kind() == "demo"
    assert BaseConfig(model=str(tmp_path)).source_kind() == "local"
    assert BaseConfig(model="beomi/llama-2-ko-7b").source_kind() == "hub"
    with pytest.raises(ParamsError, match="not 'demo', not an existing directory"):
        BaseConfig(model=str(tmp_path / "missing")).source_kind()
