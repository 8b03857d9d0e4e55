"""Building a RunConfig from flags: defaults < preset < YAML file < flags."""

import argparse

import pytest

from viddiff.cli.options import add_mode_option, add_program_options, build_config
from viddiff.config import ROLES, ConfigError, RunConfig, apply_preset


def _config(*argv: str, **kwargs) -> RunConfig:
    parser = argparse.ArgumentParser()
    add_program_options(parser)
    add_mode_option(parser)
    return build_config(parser.parse_args(list(argv)), **kwargs)


def _yaml(tmp_path, text: str) -> str:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return str(path)


def test_defaults_without_a_preset():
    config = _config()
    assert config == RunConfig().validate()
    assert (config.preset, config.image_size, config.image_format, config.image_detail) == (None, 512, "jpeg", "auto")


def test_the_paper_preset_flag():
    config = _config("--preset", "paper")
    assert config == apply_preset(RunConfig(), "paper")
    assert {config.lms[role].model for role in ROLES} == {"openai/gpt-4o-2024-08-06"}
    assert {config.lms[role].temperature for role in ROLES} == {1.0}
    assert (config.image_size, config.image_format, config.image_detail) == (None, "png", "high")
    assert (config.frame_sampling, config.localization, config.clip.resize_mode) == ("stride", "viterbi", "shortest")
    assert (config.clip.model, config.clip.pretrained) == ("ViT-bigG-14", "laion2b_s39b_b160k")


def test_flags_beat_the_preset():
    config = _config(
        "--preset", "paper", "--image-size", "512", "--image-format", "jpeg", "--image-detail", "low",
        "--frame-sampling", "rate", "--localization", "uniform", "--clip-resize", "longest", "--lm", "openai/other",
        "--temperature", "0",
    )
    assert (config.image_size, config.image_format, config.image_detail) == (512, "jpeg", "low")
    assert (config.frame_sampling, config.localization, config.clip.resize_mode) == ("rate", "uniform", "longest")
    assert {(config.lms[role].model, config.lms[role].temperature) for role in ROLES} == {("openai/other", 0.0)}
    assert config.preset == "paper" and config.clip.model == "ViT-bigG-14"


def test_the_yaml_file_beats_the_preset_and_flags_beat_the_file(tmp_path):
    path = _yaml(tmp_path, "image_detail: low\nimage_size: 768\nlms: {differencer: {model: openai/x}}\n")
    config = _config("--preset", "paper", "--config", path)
    assert (config.image_detail, config.image_size, config.image_format) == ("low", 768, "png")
    assert config.lms["differencer"].model == "openai/x" and config.lms["planner"].model == "openai/gpt-4o-2024-08-06"
    assert _config("--preset", "paper", "--config", path, "--image-detail", "high").image_detail == "high"
    # The same, with the preset named in the file instead of on the command line.
    in_file = _yaml(tmp_path, "preset: paper\nimage_detail: low\n")
    config = _config("--config", in_file)
    assert (config.preset, config.image_detail, config.frame_sampling) == ("paper", "low", "stride")


def test_a_resumed_config_keeps_its_own_values_unless_the_preset_is_given_again():
    base = RunConfig.from_dict({"preset": "paper", "image_size": 256})
    assert _config(base=base).image_size == 256
    assert _config("--preset", "paper", base=base).image_size is None


def test_image_size_full():
    assert _config("--image-size", "full").image_size is None
    assert _config("--image-size", "FULL").image_size is None
    assert _config("--image-size", "300").image_size == 300
    with pytest.raises(SystemExit):
        _config("--image-size", "big")


def test_an_unknown_preset_is_one_clear_line(tmp_path, capsys):
    with pytest.raises(ConfigError) as raised:
        _config("--config", _yaml(tmp_path, "preset: papers\n"))
    assert str(raised.value) == "preset must be one of paper, got 'papers'"
    with pytest.raises(SystemExit):
        _config("--preset", "papers")
    assert "invalid choice: 'papers' (choose from 'paper')" in capsys.readouterr().err
