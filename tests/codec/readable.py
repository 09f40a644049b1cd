"""What "the technician can read it" means in the codec tests: a check result's message and remedy are
rendered from the catalogue in Vietnamese (not the English text, not a bare key, no template left-overs),
and the device error inside the message is itself a localised sentence."""

from __future__ import annotations

import re
from typing import Any

from agent.i18n import Text

# Letters only Vietnamese uses (with its tone marks): an English or key-only text has none of them.
_VIETNAMESE = re.compile(r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I)
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z_0-9]*\}")


def vietnamese(text: str | None, *, english: str | None = None, key: str | None = None) -> str:
    assert text, "empty text"
    assert _VIETNAMESE.search(text), f"not Vietnamese: {text!r}"
    assert not _PLACEHOLDER.search(text), f"unfilled placeholder in {text!r}"
    if english is not None:
        assert text != english, f"same in both languages: {text!r}"
    if key is not None:
        assert not text.startswith(key), f"catalogue entry missing, the key is shown: {text!r}"
    return text


def assert_readable(result: Any, *, remedy: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """The result's message (and remedy) in readable Vietnamese; returns (vi, en) dicts of the result."""
    vi, en = result.to_dict("vi"), result.to_dict("en")
    vietnamese(vi["message"], english=en["message"], key=result.message.key)
    assert en["message"] and not _PLACEHOLDER.search(en["message"]), en["message"]
    if remedy:
        vietnamese(vi["remedy"], english=en["remedy"], key=result.remedy.key)
        assert en["remedy"], en
    # The device error inside the sentence is a catalogue text too, not an English exception string.
    for name, value in result.message.params.items():
        if isinstance(value, Text):
            vietnamese(value.render("vi"), english=value.render("en"), key=value.key)
    return vi, en


def inner_key(result: Any) -> str | None:
    """The catalogue key of the device error a check message carries ({error}), if it is localised."""
    error = result.message.params.get("error")
    return error.key if isinstance(error, Text) else None
