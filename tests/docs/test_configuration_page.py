"""docs/configuration.md is generated from Settings (`make docs`), complete and fresh."""

from __future__ import annotations

import re

import pytest
from pydantic import Field, create_model

from identity.config import Settings
from tests.docs.markdown import DOCS
from tools import config_reference

PAGE = DOCS / "configuration.md"


def test_the_committed_page_is_the_generated_one() -> None:
    assert PAGE.read_text(encoding="utf-8") == config_reference.render(), (
        "docs/configuration.md is stale: run `make docs`"
    )


def test_every_setting_has_a_row_with_its_default() -> None:
    rows = re.findall(r"^\| `(IDENTITY_[A-Z0-9_]+)` \|", PAGE.read_text(encoding="utf-8"), re.M)
    assert rows == [f"IDENTITY_{name.upper()}" for name in Settings.model_fields]
    page = config_reference.render()
    assert "| `IDENTITY_ACCESS_TOKEN_TTL` | duration | 600 s (10 min) | Lifetime" in page
    assert "| `IDENTITY_HASH_CONCURRENCY` | integer | the CPU count, at least 2; under" in page
    assert "| `IDENTITY_REDIS_URL` | string, optional | unset |" in page


def test_a_new_setting_makes_the_page_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    extended = create_model(
        "Extended",
        __base__=Settings,
        brand_new=(int, Field(3, description="A setting added since the page was generated.")),
    )
    monkeypatch.setattr(config_reference, "Settings", extended)
    page = config_reference.render()
    assert "| `IDENTITY_BRAND_NEW` | integer | `3` | A setting added" in page
    assert page != PAGE.read_text(encoding="utf-8")
