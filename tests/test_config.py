import pytest

import viddiff.config
from viddiff.config import (
    COMMON_PROVIDERS,
    ROLES,
    ClipConfig,
    ConfigError,
    LMConfig,
    RunConfig,
    apply_preset,
    clip_default_for_device,
    cpu_clip_note,
    field_problem,
    load_yaml,
    merge,
    model_string_problem,
)


def test_defaults_are_valid_and_round_trip():
    config = RunConfig().validate()
    assert RunConfig.from_dict(config.to_dict()) == config
    assert config.lms["differencer"] == LMConfig("openai/gpt-4o-2024-08-06")


def test_yaml_then_changes(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "mode: open\nsplit: easy\nlms:\n  all: {model: openai/qwen, api_base: 'http://127.0.0.1:8000/v1'}\n"
        "  differencer: {model: gemini/gemini-2.5-pro}\nclip: {model: ViT-B-32, pretrained: /w/clip.pt}\n"
    )
    config = merge(merge(RunConfig(), load_yaml(path)), {"localization": "uniform"}).validate()
    assert (config.mode, config.split, config.localization) == ("open", ("easy",), "uniform")
    assert config.lms["proposer"] == LMConfig("openai/qwen", api_base="http://127.0.0.1:8000/v1")
    assert config.lms["differencer"] == LMConfig("gemini/gemini-2.5-pro", api_base="http://127.0.0.1:8000/v1")
    assert (config.clip.model, config.clip.pretrained) == ("ViT-B-32", "/w/clip.pt")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"mode": "half"}, "mode must be one of closed, open"),
        ({"split": ["train"]}, "unknown split train"),
        ({"localization": "best"}, "localization must be one of viterbi, uniform, random, oracle"),
        ({"image_size": 0}, "image_size must be at least 1"),
        ({"image_size": "big"}, r"image_size must be at least 1 \(pixels\) or 'full' \(full resolution\), got 'big'"),
        ({"image_format": "gif"}, "image_format must be one of jpeg, png, got 'gif'"),
        ({"image_detail": "max"}, "image_detail must be one of auto, low, high, got 'max'"),
        ({"frame_sampling": "time"}, "frame_sampling must be one of rate, stride, got 'time'"),
        ({"preset": "papr"}, "preset must be one of paper, got 'papr'"),
        ({"jpeg_quality": 101}, "jpeg_quality must be between 1 and 100"),
    ],
)
def test_validation_names_the_bad_value(changes, message):
    with pytest.raises(ConfigError, match=message):
        merge(RunConfig(), changes).validate()


def test_unknown_keys_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown config key colour"):
        merge(RunConfig(), {"colour": "red"})
    with pytest.raises(ConfigError, match="unknown LM role 'critic'"):
        merge(RunConfig(), {"lms": {"critic": {"model": "x"}}})
    with pytest.raises(ConfigError, match="unknown key temp in lms.all"):
        merge(RunConfig(), {"lms": {"all": {"temp": 0}}})
    (tmp_path / "bad.yaml").write_text("mode: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="config file not found"):
        load_yaml(tmp_path / "none.yaml")


def test_the_paper_preset_sets_the_published_settings():
    config = apply_preset(RunConfig(), "paper").validate()
    assert config.preset == "paper"
    assert all(config.lms[role] == LMConfig("openai/gpt-4o-2024-08-06", temperature=1.0) for role in ROLES)
    assert (config.image_size, config.image_format, config.image_detail) == (None, "png", "high")
    assert (config.fps, config.frame_sampling, config.localization) == (None, "stride", "viterbi")
    assert (config.clip.model, config.clip.pretrained, config.clip.resize_mode) == ("ViT-bigG-14", "laion2b_s39b_b160k", "shortest")
    assert RunConfig.from_dict(config.to_dict()) == config


def test_a_preset_in_a_file_lies_under_the_file_and_an_unknown_one_is_one_line(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("preset: paper\nimage_size: 768\nclip: {resize_mode: longest}\n")
    config = RunConfig.from_dict(load_yaml(path)).validate()
    assert (config.image_size, config.clip.resize_mode, config.image_detail) == (768, "longest", "high")
    with pytest.raises(ConfigError) as raised:
        RunConfig.from_dict({"preset": "papr"})
    assert str(raised.value) == "preset must be one of paper, got 'papr'"


def test_full_resolution_is_spelled_full_or_null():
    assert merge(RunConfig(), {"image_size": "full"}).validate().image_size is None
    assert merge(RunConfig(), {"image_size": None}).validate().image_size is None
    assert RunConfig().image_size == 512 and RunConfig().frame_sampling == "rate"


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("fps: fast", "config key fps: expected a positive number, got 'fast'"),
        ("fps: 0", "config key fps: expected a positive number, got 0"),
        ("limit: two", "config key limit: expected a positive integer, got 'two'"),
        ("limit: true", "config key limit: expected a positive integer, got True"),
        ("limit: 2.5", "config key limit: expected a positive integer, got 2.5"),
        ("clip: {batch_size: lots}", "config key clip.batch_size: expected a positive integer, got 'lots'"),
        ("clip: {device: tpu}", "config key clip.device: expected cpu, cuda, cuda:N or mps, got 'tpu'"),
        ('three_way: "false"', "config key three_way: expected true or false, got 'false'"),
        ("chain_of_thought: 1", "config key chain_of_thought: expected true or false, got 1"),
        ("lms: {all: {temperature: 3}}", "config key lms.all.temperature: expected a number from 0 to 2, got 3"),
        ("lms: {differencer: {max_tokens: 0}}", "config key lms.differencer.max_tokens: expected a positive integer, got 0"),
        ("lms: {all: {cache: 'no'}}", "config key lms.all.cache: expected true or false, got 'no'"),
        ("mode: 3", "config key mode: expected a string, got 3"),
        ("split: 3", "config key split: expected a string or a list of strings, got 3"),
        ("split:", "config key split: expected a string or a list of strings, got None"),
        ("seed: 0.5", "config key seed: expected an integer, got 0.5"),
        ("sample_threads: 0", "config key sample_threads: expected a positive integer, got 0"),
        ("max_images: 1", "config key max_images: expected an integer of at least 2, got 1"),
        ("jpeg_quality: high", "config key jpeg_quality: expected an integer, got 'high'"),
    ],
)
def test_a_yaml_value_of_the_wrong_type_is_one_line_naming_key_value_and_type(tmp_path, yaml_text, message):
    path = tmp_path / "run.yaml"
    path.write_text(yaml_text + "\n")
    with pytest.raises(ConfigError) as raised:
        RunConfig.from_dict(load_yaml(path)).validate()
    assert str(raised.value) == message


def test_yaml_booleans_stay_booleans_and_numbers_keep_their_values(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("three_way: false\nchain_of_thought: true\nfps: 2\nlimit: 3\nclip: {batch_size: 8}\n")
    config = RunConfig.from_dict(load_yaml(path)).validate()
    assert (config.three_way, config.chain_of_thought, config.fps, config.limit, config.clip.batch_size) == (False, True, 2, 3, 8)


def test_a_config_built_in_code_is_checked_by_the_same_code():
    with pytest.raises(ConfigError, match="^config key fps: expected a positive number, got 'fast'$"):
        RunConfig(fps="fast").validate()
    with pytest.raises(ConfigError, match="^config key clip.batch_size: expected a positive integer, got 'lots'$"):
        RunConfig(clip=ClipConfig(batch_size="lots")).validate()
    with pytest.raises(ConfigError, match=r"^config key lms.planner.temperature: expected a number from 0 to 2, got -1$"):
        RunConfig(lms={**RunConfig().lms, "planner": LMConfig(temperature=-1)}).validate()
    assert field_problem(LMConfig, "temperature", 2) is None and field_problem(ClipConfig, "device", "cuda:1") is None
    assert field_problem(RunConfig, "fps", float("nan")) == "a positive number"


@pytest.mark.parametrize("model", ["openai/gpt-4o", "gemini/gemini-2.5-pro", "hosted_vllm/qwen2.5-vl", "cohere/command-r"])
def test_model_strings_with_a_provider_litellm_knows_pass(model):
    assert model_string_problem(model) is None


def test_the_common_providers_are_litellm_providers():
    import litellm

    assert COMMON_PROVIDERS <= {str(getattr(p, "value", p)) for p in litellm.provider_list}


def test_a_bad_model_string_is_one_line_naming_the_roles():
    looks_like = (
        "a model string looks like openai/gpt-4o, gemini/gemini-2.5-pro, or hosted_vllm/<served-name> with --api-base "
        "for a local server"
    )
    with pytest.raises(ConfigError) as raised:
        merge(RunConfig(), {"lms": {"all": {"model": "gpt-4o"}}}).validate()
    assert str(raised.value) == (
        f"LM model 'gpt-4o' of the proposer, planner, differencer, baseline, matcher and reflection has no provider prefix; {looks_like}"
    )
    with pytest.raises(ConfigError) as raised:
        merge(RunConfig(), {"lms": {"matcher": {"model": "foo/bar"}}}).validate()
    assert str(raised.value) == f"LM model 'foo/bar' of the matcher names a provider litellm does not know ('foo'); {looks_like}"
    with pytest.raises(ConfigError, match="^LM model 'openai/' of the planner is not provider/model; "):
        merge(RunConfig(), {"lms": {"planner": {"model": "openai/"}}}).validate()


def test_the_clip_default_follows_the_device(monkeypatch):
    monkeypatch.setattr(viddiff.config, "cuda_available", lambda: False)
    config = clip_default_for_device(RunConfig())
    assert (config.clip.model, config.clip.pretrained, config.clip.device) == ("ViT-B-32", "laion2b_s34b_b79k", None)
    assert cpu_clip_note(config) == (
        "note: on CPU the CLIP default is ViT-B-32 (laion2b_s34b_b79k); the paper used ViT-bigG-14 (about 0.2 frames/s on "
        "CPU): pass --clip-model ViT-bigG-14 --clip-pretrained laion2b_s39b_b160k (or --preset paper) to use it"
    )
    assert cpu_clip_note(RunConfig()) is None
    on_mps = clip_default_for_device(merge(RunConfig(), {"clip": {"device": "mps"}}))
    assert cpu_clip_note(on_mps).startswith("note: on mps the CLIP default is ViT-B-32")
    assert clip_default_for_device(merge(RunConfig(), {"clip": {"device": "cuda:1"}})).clip.model == "ViT-bigG-14"
    uniform = merge(RunConfig(), {"localization": "uniform"})
    assert clip_default_for_device(uniform) == uniform
    assert cpu_clip_note(merge(config, {"localization": "uniform"})) is None
    monkeypatch.setattr(viddiff.config, "cuda_available", lambda: True)
    assert clip_default_for_device(RunConfig()) == RunConfig()
    assert cpu_clip_note(config) is None


@pytest.mark.parametrize("model", ["local-dir:/models/clip", "hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K"])
def test_a_clip_that_carries_its_weights_records_no_pretrained_tag(model):
    assert ClipConfig(model=model).pretrained is None
    config = RunConfig.from_dict({"source": "runs/synth", "clip": {"model": model, "pretrained": "laion2b_s39b_b160k"}})
    assert config.clip.pretrained is None and config.to_dict()["clip"]["pretrained"] is None
