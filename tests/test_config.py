import pytest

from viddiff.config import ConfigError, RunConfig, load_yaml, merge
from viddiff.config import LMConfig


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
