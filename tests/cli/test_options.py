"""Building a RunConfig from flags: defaults < preset < YAML file < flags."""

import argparse

import pytest

import viddiff.config
from viddiff.cli import main
from viddiff.cli.options import add_mode_option, add_program_options, build_config
from viddiff.config import ROLES, ConfigError, RunConfig, apply_preset
from viddiff.task import program_for

CPU_NOTE = (
    "note: on CPU the CLIP default is ViT-B-32 (laion2b_s34b_b79k); the paper used ViT-bigG-14 (about 0.2 frames/s on "
    "CPU): pass --clip-model ViT-bigG-14 --clip-pretrained laion2b_s39b_b160k (or --preset paper) to use it"
)
MODEL_STRING_HELP = (
    "a model string looks like openai/gpt-4o, gemini/gemini-2.5-pro, or hosted_vllm/<served-name> with --api-base "
    "for a local server"
)


@pytest.fixture(autouse=True)
def cuda(monkeypatch):
    """The CLIP default depends on the device: CUDA is present unless a test says otherwise."""
    monkeypatch.setattr(viddiff.config, "cuda_available", lambda: True)


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


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--temperature", "-1"], "argument --temperature: expected a number from 0 to 2, got -1"),
        (["--temperature", "hot"], "argument --temperature: expected a number from 0 to 2, got 'hot'"),
        (["--clip-device", "tpu"], "argument --clip-device: expected cpu, cuda, cuda:N or mps, got 'tpu'"),
        (["--clip-batch-size", "0"], "argument --clip-batch-size: expected a positive integer, got 0"),
        (["--fps", "0"], "argument --fps: expected a positive number, got 0"),
        (["--fps", "fast"], "argument --fps: expected a positive number, got 'fast'"),
        (["--difference-threads", "-2"], "argument --difference-threads: expected a positive integer, got -2"),
        (["--seed", "1.5"], "argument --seed: expected an integer, got 1.5"),
        (["--max-images", "1"], "argument --max-images: expected an integer of at least 2, got 1"),
        (["--image-size", "0"], "argument --image-size: expected a positive number of pixels or 'full', got 0"),
        (["--api-base", "localhost:8000"], "argument --api-base: expected an http:// or https:// URL, got 'localhost:8000'"),
        (["--api-key-env", "MY-KEY"], "argument --api-key-env: expected an environment variable name, got 'MY-KEY'"),
        (["--limit", "0"], "argument --limit: expected a positive integer, got 0"),
        (["--limit", "two"], "argument --limit: expected a positive integer, got 'two'"),
        (["--sample-threads", "0"], "argument --sample-threads: expected a positive integer, got 0"),
        (["--stop-after", "-1"], "argument --stop-after: expected a non-negative integer, got -1"),
    ],
)
def test_every_option_is_checked_at_parse_time_in_one_line(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["run", str(tmp_path / "bench"), "--out", str(tmp_path / "run"), *argv])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"viddiff run: error: {message}"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--n-differences", "0"], "argument --n-differences: expected a positive integer, got 0"),
        (["--fps-original", "-30"], "argument --fps-original: expected a positive number, got -30"),
    ],
)
def test_the_diff_commands_own_numbers_are_checked_at_parse_time(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["diff", str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4"), "--action", "a squat", *argv])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"viddiff diff: error: {message}"


def test_good_option_values_pass_as_their_type():
    config = _config(
        "--temperature", "0", "--clip-device", "cuda:1", "--clip-batch-size", "8", "--fps", "2.5", "--seed", "-3",
        "--difference-threads", "1", "--api-base", "http://127.0.0.1:8000/v1", "--api-key-env", "MY_KEY",
    )
    assert (config.lms["planner"].temperature, config.clip.device, config.clip.batch_size) == (0.0, "cuda:1", 8)
    assert (config.fps, config.seed, config.difference_threads) == (2.5, -3, 1)
    assert (config.lms["matcher"].api_base, config.lms["matcher"].api_key_env) == ("http://127.0.0.1:8000/v1", "MY_KEY")


@pytest.mark.parametrize(
    "text, message",
    [
        ("fps: fast\n", "config key fps: expected a positive number, got 'fast'"),
        ("limit: two\n", "config key limit: expected a positive integer, got 'two'"),
        ("clip: {batch_size: lots}\n", "config key clip.batch_size: expected a positive integer, got 'lots'"),
        ('three_way: "false"\n', "config key three_way: expected true or false, got 'false'"),
        ("lms: {all: {temperature: -1}}\n", "config key lms.all.temperature: expected a number from 0 to 2, got -1"),
        ("clip: {device: tpu}\n", "config key clip.device: expected cpu, cuda, cuda:N or mps, got 'tpu'"),
    ],
)
def test_a_bad_config_value_stops_the_run_with_one_line_before_any_work(text, message, tmp_path, capsys):
    code = main(["run", str(tmp_path / "bench"), "--config", _yaml(tmp_path, text), "--out", str(tmp_path / "run")])
    assert code == 2
    assert capsys.readouterr().err == f"viddiff: error: {message}\n"
    assert not (tmp_path / "run").exists()


def test_a_model_string_without_a_known_provider_stops_the_run_with_one_line(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["run", str(tmp_path / "bench"), "--lm", "gpt-4o", "--out", out]) == 2
    assert capsys.readouterr().err == (
        "viddiff: error: LM model 'gpt-4o' of the proposer, planner, differencer, baseline, matcher and reflection has no provider "
        f"prefix; {MODEL_STRING_HELP}\n"
    )
    assert main(["run", str(tmp_path / "bench"), "--differencer-lm", "foo/bar", "--out", out]) == 2
    assert capsys.readouterr().err == (
        f"viddiff: error: LM model 'foo/bar' of the differencer names a provider litellm does not know ('foo'); {MODEL_STRING_HELP}\n"
    )
    assert not (tmp_path / "run").exists()


@pytest.fixture
def weights_looked_for(monkeypatch):
    """The (model, pretrained) pairs whose weights `program_for` looked for (none are on disk here)."""
    import viddiff.clip.weights

    looked_for = []
    monkeypatch.setattr(viddiff.clip.weights, "locate_weights", lambda model, pretrained: looked_for.append((model, pretrained)))
    return looked_for


def test_on_cpu_the_clip_default_is_vit_b_32_recorded_in_the_config_and_noted_when_the_program_is_built(
    monkeypatch, capsys, weights_looked_for
):
    monkeypatch.setattr(viddiff.config, "cuda_available", lambda: False)
    config = _config()
    assert (config.clip.model, config.clip.pretrained) == ("ViT-B-32", "laion2b_s34b_b79k")
    assert config.to_dict()["clip"]["model"] == "ViT-B-32"
    assert capsys.readouterr().err == ""  # an error found before the work starts stays one line
    program_for(config, {})
    assert capsys.readouterr().err == CPU_NOTE + "\n"
    assert weights_looked_for == [("ViT-B-32", "laion2b_s34b_b79k")]
    # CUDA present but CLIP put on the CPU: the same.
    monkeypatch.setattr(viddiff.config, "cuda_available", lambda: True)
    config = _config("--clip-device", "cpu")
    assert config.clip.model == "ViT-B-32"
    program_for(config, {})
    assert capsys.readouterr().err == CPU_NOTE + "\n"


def test_the_paper_model_on_cuda_and_whenever_chosen(monkeypatch, tmp_path, capsys, weights_looked_for):
    assert (_config().clip.model, _config("--clip-device", "cuda:0").clip.model) == ("ViT-bigG-14", "ViT-bigG-14")
    monkeypatch.setattr(viddiff.config, "cuda_available", lambda: False)
    assert _config("--preset", "paper").clip.model == "ViT-bigG-14"
    assert _config("--clip-model", "ViT-L-14").clip.model == "ViT-L-14"
    assert _config("--clip-model", "ViT-L-14", "--clip-device", "cpu").clip.model == "ViT-L-14"
    # Weights chosen alone (an offline bigG checkpoint) keep the model they belong to.
    assert _config("--clip-pretrained", "/w/bigG.bin").clip.model == "ViT-bigG-14"
    assert _config("--config", _yaml(tmp_path, "clip: {model: ViT-bigG-14}\n")).clip.pretrained == "laion2b_s39b_b160k"
    # A resumed run keeps the model it recorded; a run that embeds nothing is left alone.
    assert _config(base=RunConfig()).clip.model == "ViT-bigG-14"
    uniform = _config("--localization", "uniform")
    assert uniform.clip.model == "ViT-bigG-14"
    program_for(uniform, {})
    program_for(_config("--preset", "paper"), {})
    assert capsys.readouterr().err == ""
    assert weights_looked_for == [("ViT-bigG-14", "laion2b_s39b_b160k")]  # the uniform run embeds nothing
