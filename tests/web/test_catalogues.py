"""Every message catalogue (the explorer's and the Learn/Compare/Models one) is complete in
both languages, and every key the pages use exists in the catalogue that page loads."""

import json
import re
from pathlib import Path
from typing import get_args

import pytest

from app.api.responses import IgnoredTensor
from app.api.train_schemas import TrainTask
from app.web.learn import SECTIONS

REPO = Path(__file__).resolve().parents[2]
I18N = REPO / "static" / "i18n"
LANGS = ("en", "zh")
# Catalogue families: static/i18n/<prefix><lang>.json
FAMILIES = ("", "learn.")
LEARN_TEMPLATES = [
    *(REPO / "templates" / "learn").glob("*.html"),
    REPO / "templates" / "compare.html",
    REPO / "templates" / "models.html",
    REPO / "templates" / "train.html",
    *(REPO / "templates" / "train").glob("*.html"),
]
LEARN_JS = [
    *(REPO / "static/js/learn").glob("*.js"),
    *(REPO / "static/js/compare").glob("*.js"),
    *(REPO / "static/js/models").glob("*.js"),
    *(REPO / "static/js/train").glob("*.js"),
]
CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru", "lstm_peephole", "lstm_coupled")


def load(family: str, lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((I18N / f"{family}{lang}.json").read_text("utf-8"))
    return data


def test_every_catalogue_family_is_found() -> None:
    names = sorted(p.name for p in I18N.glob("*.json"))
    assert names == sorted(f"{f}{lang}.json" for f in FAMILIES for lang in LANGS)


@pytest.mark.parametrize("family", FAMILIES)
def test_both_languages_have_the_same_keys(family: str) -> None:
    en, zh = load(family, "en"), load(family, "zh")
    assert sorted(set(en) - set(zh)) == [], f"missing in {family}zh.json"
    assert sorted(set(zh) - set(en)) == [], f"missing in {family}en.json"


@pytest.mark.parametrize("family", FAMILIES)
def test_placeholders_and_no_empty_messages(family: str) -> None:
    en, zh = load(family, "en"), load(family, "zh")
    for key in en:
        assert en[key].strip() and zh[key].strip(), key
        names = re.compile(r"\{(\w+)\}")
        assert set(names.findall(en[key])) == set(names.findall(zh[key])), key


def test_learn_keys_do_not_shadow_explorer_keys() -> None:
    assert sorted(set(load("", "en")) & set(load("learn.", "en"))) == []


def learn_used_keys() -> set[str]:
    keys: set[str] = set()
    in_templates = re.compile(r"""\bm\(\s*["']([a-z_]+\.[a-z0-9_.\-]+)["']""")
    in_js = re.compile(r"""\bmsg\(\s*["'`]([a-z_]+\.[a-z0-9_.\-]+)["'`]""")
    for path in LEARN_TEMPLATES:
        keys |= set(in_templates.findall(path.read_text("utf-8")))
    for path in LEARN_JS:
        keys |= set(in_js.findall(path.read_text("utf-8")))
    keys = {k for k in keys if k != "learn.bptt.step" and not k.endswith(".")}  # run-time prefixes
    # Keys built from a section, cell or index at run time.
    for s in SECTIONS:
        keys |= {f"learn.s.{s}.title", f"learn.s.{s}.summary", f"learn.s.{s}.p1"}
    keys |= {f"compare.cell.{c}" for c in CELLS}
    keys |= {f"train.task.{task}" for task in get_args(TrainTask)}
    phases = ("connecting", "ready", "playing", "pausing", "paused", "finished", "stopped")
    keys |= {f"train.phase.{p}" for p in (*phases, "idle", "closed")}
    keys |= {f"learn.notation.{k}" for k in range(5)}
    keys |= {f"learn.bptt.step{k}" for k in range(5)}
    variants = ("peephole", "coupled", "gru")
    keys |= {f"learn.variant.{v}.{p}" for v in variants for p in ("title", "body")}
    keys |= {f"learn.series.{s}" for s in ("rnn_memory", "lstm_memory")}
    meta = (
        "id",
        "cell",
        "input_size",
        "hidden_size",
        "num_layers",
        "num_directions",
        "task",
        "vocab",
    )
    meta += ("metrics", "proj_size")
    keys |= {f"models.meta.{k}" for k in meta}
    codes = get_args(IgnoredTensor.model_fields["code"].annotation)  # the upload's reasons
    keys |= {f"models.reason.{code}" for code in codes}
    return keys


@pytest.mark.parametrize("lang", LANGS)
def test_every_key_the_learn_pages_use_exists(lang: str) -> None:
    keys = learn_used_keys()
    assert len(keys) > 150  # the scan found the pages' strings
    merged = {**load("", lang), **load("learn.", lang)}
    assert sorted(keys - set(merged)) == []


@pytest.mark.parametrize("lang", LANGS)
def test_every_learn_message_is_used(lang: str) -> None:
    """No dead keys: each message is referenced, literally or by a run-time pattern."""
    sources = "\n".join(p.read_text("utf-8") for p in [*LEARN_TEMPLATES, *LEARN_JS])
    used = learn_used_keys()
    dead = []
    for key in load("learn.", lang):
        if key in used or f'"{key}"' in sources or f"'{key}'" in sources:
            continue
        section_para = re.fullmatch(r"learn\.s\.([a-z\-]+)\.(p\d|look)", key)
        if section_para and section_para.group(1) in SECTIONS:
            continue
        dead.append(key)
    assert dead == []
