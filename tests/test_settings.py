"""Every setting is documented in the README, and the environment overrides its default."""

from __future__ import annotations

from pathlib import Path

import pytest

from wandel.settings import SETTINGS, get_settings

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_setting_documented(setting: object) -> None:
    text = README.read_text(encoding="utf-8")
    assert f"`{setting.env}`" in text  # type: ignore[attr-defined]


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WANDEL_DB", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("WANDEL_DRAWS", "17")
    get_settings.cache_clear()
    try:
        s = get_settings()
        assert s.db == tmp_path / "x.duckdb"
        assert s.draws == 17
    finally:
        get_settings.cache_clear()
