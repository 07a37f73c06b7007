"""The Learn walkthrough in real Chromium: every section in both languages, navigation,
the language toggle, and the README screenshots."""

import math

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.web.learn import SECTIONS
from tests.conftest import skip_or_fail
from tests.e2e.conftest import README_IMAGES, save_screenshot
from tests.e2e.helpers import api_has, api_trace

LANGS = ("en", "zh")


def open_section(page: Page, section: str, lang: str) -> None:
    page.goto(f"/learn/{section}?lang={lang}")
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=20_000)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("section", SECTIONS)
def test_section_renders_without_console_errors(
    page: Page, console_errors: list[str], section: str, lang: str
) -> None:
    open_section(page, section, lang)
    assert page.locator("html").get_attribute("data-lang") == lang
    expect(page.locator("#figure-status")).to_have_text("")
    # The live figure drew something, and (except the legend page) a stepper runs it.
    assert page.locator("#figure-body svg *").count() > 20
    if section != "notation":
        expect(page.locator("#figure-controls input[type=range]")).to_be_attached()
        assert page.locator(".katex").count() >= 1
    assert page.locator(".prose p").count() >= 2
    # Nothing fell back to a raw key.
    body = page.locator("main").inner_text()
    assert "learn.s." not in body and "nav." not in body
    assert console_errors == []


def test_contents_lists_every_section_in_order_and_prev_next_chain(page: Page) -> None:
    open_section(page, SECTIONS[0], "en")
    links = page.locator("#toc a")
    assert [links.nth(k).get_attribute("data-section") for k in range(links.count())] == list(
        SECTIONS
    )
    seen = [SECTIONS[0]]
    for _ in SECTIONS[1:]:
        href = page.locator("#next-link").get_attribute("href") or ""
        assert "lang=en" in href
        page.goto(href)
        seen.append(page.locator("article").get_attribute("data-section") or "")
    assert seen == list(SECTIONS)
    prev = page.locator("#prev-link").get_attribute("href") or ""
    assert f"/learn/{SECTIONS[-2]}" in prev


def test_deep_link_opens_the_section_and_unknown_is_404(page: Page, base_url: str) -> None:
    open_section(page, "focus-c", "zh")
    expect(page.locator("#toc a[aria-current=page]")).to_have_attribute("data-section", "focus-c")
    expect(page.locator("h1")).to_contain_text("第三步")
    assert httpx.get(f"{base_url}/learn/no-such-section").status_code == 404


def test_language_follows_the_browser_and_the_toggle_keeps_it_in_the_url(
    browser: object, base_url: str
) -> None:
    context = browser.new_context(locale="zh-CN", base_url=base_url)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto("/learn/gate")
    expect(page.locator("html")).to_have_attribute("data-lang", "zh")
    page.locator("#lang-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-lang", "en")
    assert "lang=en" in page.url and "/learn/gate" in page.url
    # Every internal link now carries the choice.
    assert "lang=en" in (page.locator("#next-link").get_attribute("href") or "")
    context.close()


def test_rolled_figure_animates_the_state_around_the_loop(page: Page) -> None:
    page.clock.install(time=0)
    page.goto("/learn/rnn-rolled?lang=en")
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=20_000)
    page.clock.run_for(100)
    first = page.locator(".learn-step").inner_text()
    page.clock.run_for(2000)
    assert page.locator(".learn-step").inner_text() != first
    # The loop carries h_{t-1}: its strip shows the previous step's h.
    t = int(page.locator(".learn-range").input_value())
    if t > 0:
        fill_h = page.locator("#rolled-h-0").get_attribute("fill")
        assert fill_h is not None


def test_focus_table_numbers_add_up(page: Page) -> None:
    open_section(page, "focus-c", "en")
    page.locator(".learn-range").fill("5")
    rows = page.locator(".numbers-table tbody tr")
    assert rows.count() >= 4
    for k in range(rows.count()):
        cells = rows.nth(k).locator("td")
        f_c, i_g, c = (float(cells.nth(j).get_attribute("data-value") or "nan") for j in (1, 2, 3))
        assert math.isclose(f_c + i_g, c, rel_tol=1e-6)  # a float32 trace


@pytest.mark.parametrize("lang", LANGS)
def test_readme_screenshot(page: Page, lang: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    open_section(page, "focus-i", lang)
    page.locator(".learn-range").fill("6")
    page.locator(".learn-range").blur()
    save_screenshot(page, f"learn-{lang}")
    README_IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(README_IMAGES / f"learn-{lang}.png"))


def _api_gradients(base_url: str, ref: dict[str, object], inputs: object) -> dict[str, object]:
    body = {"model": ref, "inputs": inputs, "loss": {"kind": "unit", "layer": 0, "unit": 0}}
    res = httpx.post(f"{base_url}/api/v1/gradients", json=body, timeout=30)
    assert res.status_code == 200, res.text
    data: dict[str, object] = res.json()
    return data


def _column(page: Page, name: str, steps: int) -> list[float]:
    cells = [page.locator(f"[data-testid=grad-{name}-{t}]") for t in range(steps)]
    return [float(c.get_attribute("data-value") or "nan") for c in cells]


def test_gradient_flow_shows_the_api_numbers(page: Page, base_url: str) -> None:
    if not api_has(base_url, "/api/v1/gradients"):
        skip_or_fail("the server has no POST /api/v1/gradients yet")
    open_section(page, "simple-rnn-bptt", "en")
    sent = page.evaluate("window.gatescopeLearn.gradientFlow")
    rnn = _api_gradients(base_url, sent["refs"][0], sent["inputs"][0])
    lstm = _api_gradients(base_url, sent["refs"][1], sent["inputs"][1])
    steps = len(sent["inputs"][1])
    expected = {
        "rnn-h": rnn["layers"][0]["dh_norm"],  # type: ignore[index]
        "lstm-h": lstm["layers"][0]["dh_norm"],  # type: ignore[index]
        "lstm-c": lstm["layers"][0]["dc_norm"],  # type: ignore[index]
    }
    for name, values in expected.items():
        assert _column(page, name, steps) == pytest.approx(values, rel=1e-12, abs=1e-300)
    # Three gradient lines and the forget-gate product are drawn.
    assert page.locator("#gradflow-chart .series-line").count() == 4
    assert page.locator("#gradflow-missing").count() == 0
    if page.locator("#forget-bias").count() == 0:
        return  # a trained sine-lstm is served: no forget-bias choice
    # With its forget bias at +3 the random LSTM keeps far more gradient at t = 0 than the RNN;
    # at PyTorch's default bias (0) it fades too: the page recomputes with the API.
    assert _column(page, "lstm-h", steps)[0] > 100 * _column(page, "rnn-h", steps)[0]
    page.locator("#forget-bias").select_option("0")
    expect(page.locator(".gradflow-out")).to_have_attribute("data-forget-bias", "0")
    sent = page.evaluate("window.gatescopeLearn.gradientFlow")
    lstm0 = _api_gradients(base_url, sent["refs"][1], sent["inputs"][1])
    assert _column(page, "lstm-h", steps) == pytest.approx(
        lstm0["layers"][0]["dh_norm"],  # type: ignore[index]
        rel=1e-12,
    )
    assert _column(page, "lstm-h", steps)[0] < _column(page, "rnn-h", steps)[0]


def test_forget_product_is_the_running_product_of_the_api_forget_gate(
    page: Page, base_url: str
) -> None:
    open_section(page, "simple-rnn-bptt", "en")
    sent = page.evaluate("window.gatescopeLearn.gradientFlow")
    res = api_trace(base_url, {"model": sent["refs"][1], "inputs": sent["inputs"][1]})
    f = [row[0] for row in res["layers"][0]["f"]]
    steps = len(f)
    expected = [math.prod(f[s] for s in range(t + 1, steps)) for t in range(steps)]
    assert _column(page, "fprod", steps) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("lang", LANGS)
def test_index_lists_every_section(page: Page, console_errors: list[str], lang: str) -> None:
    page.goto(f"/learn?lang={lang}")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    cards = page.locator(".toc-cards a")
    assert [cards.nth(k).get_attribute("data-section") for k in range(cards.count())] == list(
        SECTIONS
    )
    assert page.locator(".toc-summary").count() == len(SECTIONS)
    assert console_errors == []


def test_chain_walks_the_four_focus_figures_each_step(page: Page) -> None:
    page.clock.install(time=0)
    page.goto("/learn/lstm-chain?lang=en")
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=20_000)
    page.locator(".learn-range").fill("4")
    chain = page.locator("#fig-chain")
    page.clock.run_for(50)
    for name in ["f", "i", "c", "o", ""]:
        assert chain.get_attribute("data-focus") == name
        page.clock.run_for(420)  # WALK_MS in static/js/learn/sections.js


def test_hovering_a_gru_strip_shows_the_api_value(page: Page, base_url: str) -> None:
    open_section(page, "variants", "en")
    page.locator(".learn-range").fill("3")
    page.locator("#gru-strip-z-2").hover()
    expect(page.locator("#tooltip")).to_be_visible()
    expect(page.locator("#tooltip .tip-eq")).to_contain_text("σ")
    sent = page.evaluate("window.gatescopeLearn.variants.gru")
    z = api_trace(base_url, {"model": sent["ref"], "inputs": sent["inputs"]})["layers"][0]["z"][3]
    shown = page.locator("#tooltip tr.current td").nth(1)
    assert float(shown.get_attribute("data-value") or "nan") == pytest.approx(z[2], rel=1e-12)


def test_variants_run_on_the_three_trained_sine_models(page: Page) -> None:
    open_section(page, "variants", "en")
    expect(page.get_by_text("All three cells run on trained models")).to_be_visible()
    refs = page.evaluate(
        "Object.fromEntries(Object.entries(window.gatescopeLearn.variants)"
        ".map(([k, v]) => [k, v.ref]))"
    )
    assert refs == {
        "gru": {"id": "sine-gru"},
        "peephole": {"id": "sine-lstm-peephole"},
        "coupled": {"id": "sine-lstm-coupled"},
    }


def test_long_term_runs_the_trained_delayed_recall_model(page: Page, base_url: str) -> None:
    models = httpx.get(f"{base_url}/api/v1/models", timeout=10).json()["models"]
    if "delayed-recall-lstm" not in {m["id"] for m in models}:
        skip_or_fail("the built-in model delayed-recall-lstm is not served")
    open_section(page, "long-term", "en")
    box = page.locator("#recall-experiment")
    expect(box).to_contain_text("delayed-recall-lstm")
    answer = box.locator(".recall-answer").filter(has_text="delayed-recall-lstm")
    expect(answer).to_contain_text("“French”")
    expect(answer).to_contain_text("“Japanese”")


# Rendered height of the smallest non-empty label of a figure, in CSS pixels.
SMALLEST_LABEL_JS = """(sel) => Math.min(...[...document.querySelectorAll(`${sel} text`)]
    .filter((t) => t.textContent.trim())
    .map((t) => t.getBoundingClientRect().height)
    .filter((h) => h > 0))"""


@pytest.mark.parametrize("lang", LANGS)
def test_learn_figures_stay_legible_on_a_phone(page: Page, lang: str) -> None:
    # Like the explorer's chain (about 9 px labels on a phone), a wide learn figure keeps a
    # minimum width and scrolls inside its own frame instead of shrinking to the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    open_section(page, "focus-f", lang)
    assert page.evaluate(SMALLEST_LABEL_JS, "#fig-chain") >= 9
    frame = page.locator("#fig-chain-scroll")
    assert frame.evaluate("(f) => f.scrollWidth > f.clientWidth")
    # The frame scrolls, never the page; it opens on the middle (the opened module).
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert frame.evaluate("(f) => f.scrollLeft") > 0
    open_section(page, "notation", lang)
    assert page.evaluate(SMALLEST_LABEL_JS, "#fig-notation") >= 9


def test_learn_figures_keep_their_desktop_size(page: Page) -> None:
    # On a desktop the figure fills the article's width and nothing scrolls sideways.
    page.set_viewport_size({"width": 1280, "height": 720})
    open_section(page, "focus-f", "en")
    sizes = page.evaluate(
        """() => {
          const svg = document.querySelector('#fig-chain');
          const body = document.querySelector('#figure-body');
          const frame = svg.parentElement;
          return [svg.getBoundingClientRect().width, body.clientWidth,
                  frame.scrollWidth - frame.clientWidth];
        }"""
    )
    assert sizes[0] == pytest.approx(sizes[1], abs=1) and sizes[2] <= 0
    assert page.evaluate(SMALLEST_LABEL_JS, "#fig-chain") >= 10


@pytest.mark.parametrize("lang", LANGS)
def test_notation_legends_have_the_explorers_size(page: Page, lang: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    open_section(page, "notation", lang)
    legends = page.locator(".legends svg")
    assert legends.count() == 2
    for k in range(2):
        box = legends.nth(k).bounding_box()
        assert box is not None and box["height"] <= 60 and box["width"] <= 240
    title = page.locator(".legends .legend-title").first.bounding_box()
    assert title is not None and title["height"] <= 16


# Every end of every line in the opened RNN module touches something: another line, a node's
# rim, or the edge of a box (a layer or a module). No loose stubs.
LOOSE_ENDS_JS = """(svg) => {
  const lines = [...svg.querySelectorAll('polyline')].map((p) =>
    p.getAttribute('points').trim().split(/\\s+/).map((s) => s.split(',').map(Number)));
  const onSegment = ([x, y], [ax, ay], [bx, by]) => {
    const cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
    const dot = (x - ax) * (bx - ax) + (y - ay) * (by - ay);
    const len = (bx - ax) ** 2 + (by - ay) ** 2;
    return Math.abs(cross) <= 0.5 * Math.sqrt(len) && dot >= -0.5 && dot <= len + 0.5;
  };
  const circles = [...svg.querySelectorAll('circle')].filter((c) => c.closest('.node'))
    .map((c) => [+c.getAttribute('cx'), +c.getAttribute('cy'), +c.getAttribute('r')]);
  const rects = [...svg.querySelectorAll('rect')].filter((r) => !r.closest('[id*=strip], .strip'))
    .map((r) => ['x', 'y', 'width', 'height'].map((a) => +r.getAttribute(a)));
  const touches = (p, self) =>
    lines.some((other, j) => j !== self &&
      other.some((q, k) => k > 0 && onSegment(p, other[k - 1], q))) ||
    circles.some(([cx, cy, r]) => Math.abs(Math.hypot(p[0] - cx, p[1] - cy) - r) <= 0.5) ||
    rects.some(([x, y, w, h]) =>
      (Math.abs(p[0] - x) <= 0.5 || Math.abs(p[0] - x - w) <= 0.5) && p[1] >= y && p[1] <= y + h ||
      (Math.abs(p[1] - y) <= 0.5 || Math.abs(p[1] - y - h) <= 0.5) && p[0] >= x && p[0] <= x + w);
  const loose = [];
  lines.forEach((pts, i) => {
    for (const p of [pts[0], pts[pts.length - 1]]) if (!touches(p, i)) loose.push(p.join(','));
  });
  return loose;
}"""


@pytest.mark.parametrize("section", ["simple-rnn-module", "simple-rnn-bptt"])
def test_rnn_module_lines_meet_where_they_should(page: Page, section: str) -> None:
    open_section(page, section, "en")
    svg = page.locator("#fig-rnn-module")
    assert svg.evaluate(LOOSE_ENDS_JS) == []
    # h_{t-1} stops at its junction with x_t (it ran on into a stub above it).
    points = svg.evaluate(
        "(s) => [...s.querySelectorAll('polyline')].map((p) => p.getAttribute('points'))"
    )
    assert "180,330 420,330" in points and "420,474 420,330" in points
