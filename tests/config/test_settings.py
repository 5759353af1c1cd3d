"""Settings: YAML + environment + overrides, validated once, unknown keys refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from exstreamtv.config import load_settings
from exstreamtv.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_carry_the_hardening_flags_and_port(tmp_path: Path) -> None:
    settings = load_settings(overrides={"data_dir": tmp_path}, environ={})
    assert settings.server.port == 8411
    assert settings.ai_agent.bounded_agent_enabled is False
    assert settings.ai_agent.metadata_self_resolution_enabled is False
    assert settings.ai_agent.metadata_self_resolution_cooldown_sec == 300
    assert settings.ai_agent.metadata_self_resolution_disable_hours == 1.0
    assert settings.ai_agent.force_metadata_resolution is False
    assert settings.epg.episode_num_required is False
    assert settings.epg.plex_xmltv_mismatch_ratio_threshold == 0.15
    assert settings.playout.horizon_hours == 48


def test_misspelt_safety_flag_is_an_error_naming_the_key(tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", "ai_agent:\n  bounded_agnet_enabled: true\n")
    with pytest.raises(ConfigError, match=r"ai_agent\.bounded_agnet_enabled: unknown key"):
        load_settings(config, environ={})


def test_unknown_section_is_an_error_naming_it(tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", "strеaming: {}\n")  # Cyrillic 'е'
    with pytest.raises(ConfigError, match="strеaming: unknown key"):
        load_settings(config, environ={})


def test_environment_overrides_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "c.yaml", "server:\n  port: 9000\n  host: 0.0.0.0\n")
    monkeypatch.setenv("EXSTREAMTV_SERVER__PORT", "9100")
    settings = load_settings(config)
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 9100)


def test_overrides_beat_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXSTREAMTV_SERVER__PORT", "9100")
    settings = load_settings(overrides={"data_dir": tmp_path, "server": {"port": 9200}})
    assert settings.server.port == 9200


def test_unknown_environment_key_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXSTREAMTV_AI_AGENT__BOUNDED_AGENT_ENABLE", "true")
    with pytest.raises(ConfigError, match="bounded_agent_enable: unknown key"):
        load_settings(overrides={"data_dir": "/nonexistent"})


def test_unknown_environment_section_is_an_error() -> None:
    with pytest.raises(ConfigError, match="EXSTREAMTV_AI__X"):
        load_settings(environ={"EXSTREAMTV_AI__X": "1"})


def test_environment_flag_reaches_nested_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXSTREAMTV_AI_AGENT__FORCE_METADATA_RESOLUTION", "true")
    settings = load_settings(overrides={"data_dir": "/nonexistent"})
    assert settings.ai_agent.force_metadata_resolution is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("server:\n  port: 99999\n", "server.port"),
        ("server:\n  port: eighty\n", "server.port"),
        (
            "epg:\n  plex_xmltv_mismatch_ratio_threshold: 1.5\n",
            "plex_xmltv_mismatch_ratio_threshold",
        ),
        ("server:\n  trusted_proxies: ['not-an-ip']\n", "not-an-ip"),
        ("server:\n  base_url: ftp://x\n", "server.base_url"),
        ("libraries:\n  - name: x\n    paths: []\n", "libraries.0.paths"),
        ("- just\n- a list\n", "mapping"),
        ("server: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_values_are_named(tmp_path: Path, text: str, message: str) -> None:
    config = write(tmp_path / "c.yaml", text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config, environ={})


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_config_in_data_dir_is_read_when_present(tmp_path: Path) -> None:
    write(tmp_path / "exstreamtv.yaml", "hdhomerun:\n  tuner_count: 6\n")
    settings = load_settings(overrides={"data_dir": tmp_path}, environ={})
    assert settings.hdhomerun.tuner_count == 6


def test_empty_config_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path / "c.yaml", ""), environ={})
    assert settings.server.port == 8411


def test_secrets_are_masked_in_dumps_and_errors(tmp_path: Path) -> None:
    config = write(
        tmp_path / "c.yaml",
        "llm:\n  api_key: sk-very-secret\ndatabase:\n  url: postgresql://u:hunter22@h/db\n",
    )
    settings = load_settings(config, environ={})
    dumped = str(settings.model_dump(mode="json")) + repr(settings)
    assert "sk-very-secret" not in dumped
    assert "hunter22" not in dumped
    bad = write(tmp_path / "bad.yaml", "llm:\n  api_key: [sk-very-secret]\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(bad, environ={})
    assert "sk-very-secret" not in caught.value.message


def test_loopback_detection(tmp_path: Path) -> None:
    def loopback(host: str) -> bool:
        settings = load_settings(
            overrides={"data_dir": tmp_path, "server": {"host": host}}, environ={}
        )
        return settings.is_loopback_only

    assert loopback("127.0.0.1") and loopback("::1") and loopback("localhost")
    assert not loopback("0.0.0.0") and not loopback("192.168.1.5") and not loopback("::")


def test_relative_data_dir_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(overrides={"data_dir": "data"}, environ={})
    assert settings.data_dir == tmp_path / "data"
    assert settings.database_url.endswith(f"{tmp_path}/data/exstreamtv.db")


def test_invalid_device_id_override_is_a_config_error(tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", "hdhomerun:\n  device_id: '12345678'\n")
    with pytest.raises(ConfigError, match=r"hdhomerun\.device_id: .*checksum"):
        load_settings(config, environ={})


def test_valid_device_id_override_is_kept_in_upper_case(tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", "hdhomerun:\n  device_id: 1a2b3c46\n")
    assert load_settings(config, environ={}).hdhomerun.device_id == "1A2B3C46"


def test_the_guide_is_48_hours_or_the_horizon_when_that_is_shorter(tmp_path: Path) -> None:
    assert load_settings(overrides={"data_dir": tmp_path}, environ={}).epg.guide_hours == 48
    short = write(tmp_path / "c.yaml", "playout:\n  horizon_hours: 6\n")
    assert load_settings(short, environ={}).epg.guide_hours == 6
    long = write(tmp_path / "l.yaml", "playout:\n  horizon_hours: 96\nepg:\n  guide_hours: 72\n")
    assert load_settings(long, environ={}).epg.guide_hours == 72


def test_a_guide_longer_than_the_horizon_is_an_error_naming_both_keys(tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", "playout:\n  horizon_hours: 24\nepg:\n  guide_hours: 36\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(config, environ={})
    assert "epg.guide_hours (36) is more than playout.horizon_hours (24)" in refused.value.message
