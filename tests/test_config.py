import pytest

from viddiff.config import ROLES, ConfigError, LMConfig, RunConfig, apply_preset, load_yaml, merge


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
