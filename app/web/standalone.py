"""One self-contained HTML file of the explorer for one trace: no server, no network.

The explorer's ES modules (static/js) are inlined as data: URLs behind an import map (each
module's relative imports rewritten to the map's bare names, so the browser links the same
module graph it loads from the server), the stylesheet as a <style>, and the trace as a JSON
data block the page reads instead of asking the API. A Content-Security-Policy meta tag
allows only those scripts (the import map by its hash, modules from data: URLs) and no
connection at all. Used by gatescope's Trace.save_html / show and by POST
/api/v1/trace/html (the explorer's "Export HTML" button).
"""

import base64
import hashlib
import json
import posixpath
import re
from functools import lru_cache
from typing import Any

from app import __version__
from app.paths import STATIC_DIR, TEMPLATES_DIR

_IMPORT = re.compile(r"""((?:^|\n)\s*(?:import|export)\b[^;"']*?["'])(\.{1,2}/[^"']+)(["'])""")
_PREFIX = "gatescope/"
DATA_ID = "gatescope-trace"


def _module_graph(entry: str) -> dict[str, str]:
    """path under static/js -> its source with relative imports made bare names, for every
    module `entry` reaches."""
    out: dict[str, str] = {}
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in out:
            continue
        src = (STATIC_DIR / "js" / path).read_text(encoding="utf-8")
        here = posixpath.dirname(path)

        def bare(m: re.Match[str], here: str = here) -> str:
            target = posixpath.normpath(posixpath.join(here, m.group(2)))
            todo.append(target)
            return f"{m.group(1)}{_PREFIX}{target}{m.group(3)}"

        out[path] = _IMPORT.sub(bare, src)
    return out


def _data_url(src: str) -> str:
    return "data:text/javascript;base64," + base64.b64encode(src.encode()).decode()


@lru_cache
def _shell(lang: str) -> str:
    """The explorer page for `lang` with scripts and styles inlined and a %TRACE% slot."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from app.web.pages import catalogue

    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape())
    messages = catalogue(lang)
    env.globals["url_for"] = lambda name, **kw: f"@static/{kw['path']}" if "path" in kw else "#"
    html = env.get_template("explorer.html").render(
        lang=lang, t=lambda key: messages.get(key, key), messages=messages, version=__version__,
        other_lang_href="#", site_nav=False, features={"models": False, "live": False,
                                                       "clamp": False},
    )  # fmt: skip
    css = (STATIC_DIR / "css" / "app.css").read_text(encoding="utf-8")
    imports = {f"{_PREFIX}{p}": _data_url(s) for p, s in sorted(_module_graph("main.js").items())}
    importmap = json.dumps({"imports": imports})
    digest = base64.b64encode(hashlib.sha256(importmap.encode()).digest()).decode()
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'sha256-{digest}' data:",
            "style-src 'unsafe-inline'",
            "img-src data: blob:",
            "font-src data:",
            "connect-src 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    head = (
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        f'  <script type="importmap">{importmap}</script>'
    )
    html = html.replace('<meta charset="utf-8">', f'<meta charset="utf-8">\n  {head}', 1)
    html = re.sub(r'<link rel="icon"[^>]*>\s*', "", html)
    html = re.sub(
        r'<link rel="stylesheet" href="@static/css/app.css">',
        lambda _: f"<style>{css}</style>",
        html,
    )
    main_src = "import " + json.dumps(_PREFIX + "main.js") + ";"
    entry = f'<script type="module" src="{_data_url(main_src)}"></script>'
    html = re.sub(
        r'<script type="module" src="@static/js/main.js"></script>', lambda _: entry, html
    )
    slot = f'<script type="application/json" id="{DATA_ID}">%TRACE%</script>'
    return html.replace("</body>", f"{slot}\n</body>", 1)


def standalone_html(trace: dict[str, Any], lang: str = "en", title: str | None = None) -> str:
    """The page for `trace`: the API's JSON answer (layers[k][field] as nested lists, and
    optionally `inputs` (steps, input_size) and `tokens`); `title` names it in the page."""
    shell = _shell(lang if lang in ("en", "zh") else "en")
    body = dict(trace)
    if title:
        body["title"] = title
    text = json.dumps(body, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c")  # "</script>" in a token cannot close the block
    return shell.replace("%TRACE%", text, 1)
