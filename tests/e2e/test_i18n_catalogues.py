"""Every message key the pages use exists in both catalogues (static/i18n/en.json, zh.json)."""

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
I18N = REPO / "static" / "i18n"
LANGS = ("en", "zh")
# Keys built at run time from a prefix and a name (see static/js).
DYNAMIC = {
    "name.": ["f", "i", "g", "o", "c", "h", "c_prev", "h_prev", "x", "tanh_c", "f_c_prev", "i_g"],
    "substep.": ["f", "i", "c", "o"],
    "focus.": [
        "f",
        "i",
        "c",
        "o",
        "slide",
        "all",
        *[f"{k}_text" for k in ["f", "i", "c", "o", "slide", "all"]],
    ],
    "chain.": ["module-prev", "module-next"],
}


def catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def used_keys() -> set[str]:
    keys: set[str] = set()
    call = re.compile(r"""\b(?:t|tr)\(\s*["']([a-z_]+\.[a-z0-9_\-]+)["']""")
    for path in [*REPO.glob("templates/**/*.html"), *REPO.glob("static/js/**/*.js")]:
        keys |= set(call.findall(path.read_text(encoding="utf-8")))
    keys |= set(re.findall(r'"(focus\.[a-z]+)"', (REPO / "static/js/main.js").read_text()))
    for prefix, names in DYNAMIC.items():
        keys |= {prefix + n for n in names}
    return keys


def test_both_catalogues_have_the_same_keys() -> None:
    en, zh = catalogue("en"), catalogue("zh")
    assert sorted(set(en) - set(zh)) == [], "missing in zh.json"
    assert sorted(set(zh) - set(en)) == [], "missing in en.json"


@pytest.mark.parametrize("lang", LANGS)
def test_every_used_key_is_in_the_catalogue(lang: str) -> None:
    keys = used_keys()
    assert len(keys) > 80  # the scan found the page's strings
    assert sorted(keys - set(catalogue(lang))) == []


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_match_between_languages(lang: str) -> None:
    other = catalogue("zh" if lang == "en" else "en")
    for key, text in catalogue(lang).items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", other[key])), key


def test_no_empty_messages() -> None:
    for lang in LANGS:
        assert [k for k, v in catalogue(lang).items() if not v.strip()] == []
