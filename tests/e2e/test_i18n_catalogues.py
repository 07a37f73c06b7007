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
    "model.source_": ["builtin", "upload"],
}


def catalogue_files(lang: str) -> list[Path]:
    """en.json, plus any page family's own catalogue such as learn.en.json."""
    return [I18N / f"{lang}.json", *sorted(I18N.glob(f"*.{lang}.json"))]


def catalogue(lang: str) -> dict[str, str]:
    """Every catalogue of the language merged: what a page may look a key up in."""
    merged: dict[str, str] = {}
    for path in catalogue_files(lang):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def used_keys() -> set[str]:
    keys: set[str] = set()
    call = re.compile(r"""\b(?:t|tr)\(\s*["']([a-z_]+\.[a-z0-9_\-]+)["']""")
    for path in [*REPO.glob("templates/**/*.html"), *REPO.glob("static/js/**/*.js")]:
        keys |= set(call.findall(path.read_text(encoding="utf-8")))
    keys |= set(re.findall(r'"(focus\.[a-z]+)"', (REPO / "static/js/main.js").read_text()))
    for prefix, names in DYNAMIC.items():
        keys |= {prefix + n for n in names}
    return keys


def test_both_languages_have_the_same_keys_file_by_file() -> None:
    for en_path in catalogue_files("en"):
        zh_path = en_path.with_name(en_path.name.replace("en.json", "zh.json"))
        en = json.loads(en_path.read_text(encoding="utf-8"))
        zh = json.loads(zh_path.read_text(encoding="utf-8"))
        assert sorted(set(en) - set(zh)) == [], f"missing in {zh_path.name}"
        assert sorted(set(zh) - set(en)) == [], f"missing in {en_path.name}"


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
