"""Geometry of the /learn figures, measured in real Chromium: arrows meet the circles they
leave or point to, the "=" of the unrolled RNN keeps clear of the loop, the legend's names do
not run into one another. All measurements are in viewBox units, read from the DOM."""

from itertools import pairwise

import pytest
from playwright.sync_api import Page

from tests.e2e.test_learn import LANGS, LOOSE_ENDS_JS, open_section

# For each node circle of a figure: how far the nearest end of an arrow (polyline) lies from
# its rim (0 = on the rim, > 0 outside, < 0 inside).
NODE_GAPS_JS = """(svg) => {
  const ends = [...svg.querySelectorAll('polyline.arrow')].flatMap((p) => {
    const pts = p.getAttribute('points').trim().split(/\\s+/).map((s) => s.split(',').map(Number));
    return [pts[0], pts[pts.length - 1]];
  });
  return [...svg.querySelectorAll('.node circle')].map((c) => {
    const [cx, cy, r] = ['cx', 'cy', 'r'].map((a) => +c.getAttribute(a));
    const gaps = ends.map(([x, y]) => Math.hypot(x - cx, y - cy) - r);
    return gaps.reduce((best, g) => (Math.abs(g) < Math.abs(best) ? g : best), Infinity);
  });
}"""


@pytest.mark.parametrize(
    ("section", "figure"),
    [
        ("rnn-rolled", "#fig-rolled"),
        ("rnn-unrolled", "#fig-unrolled"),
        ("short-term", "#fig-unrolled"),
    ],
)
def test_rnn_arrows_end_on_the_rims_of_their_nodes(page: Page, section: str, figure: str) -> None:
    open_section(page, section, "en")
    svg = page.locator(figure)
    gaps = svg.evaluate(NODE_GAPS_JS)
    assert len(gaps) >= 2
    assert all(abs(g) <= 0.5 for g in gaps), gaps
    assert svg.evaluate(LOOSE_ENDS_JS) == []


def test_unrolled_equals_sign_keeps_clear_of_the_loop(page: Page) -> None:
    open_section(page, "rnn-unrolled", "en")
    # The text's box is its advance width (wider than the glyph); the loop's is its geometry,
    # to which half its 2.5 stroke is added.
    left_gap, right_gap = page.locator("#fig-unrolled").evaluate(
        """(svg) => {
          const eq = svg.querySelector('.equals-sign').getBBox();
          const loop = svg.querySelector('path.arrow').getBBox();
          const first = svg.querySelector('#unrolled-col-0 .module').getBBox();
          return [eq.x - (loop.x + loop.width + 1.25), first.x - (eq.x + eq.width)];
        }"""
    )
    assert left_gap >= 8 and right_gap >= 8, (left_gap, right_gap)


# Each legend name's horizontal extent in viewBox units, and that of the symbol above it.
NOTATION_BOXES_JS = """(svg) => {
  const box = svg.getBoundingClientRect();
  const k = svg.viewBox.baseVal.width / box.width;
  const span = (nodes) => {
    const rs = nodes.map((n) => n.getBoundingClientRect());
    return [Math.min(...rs.map((r) => r.left)), Math.max(...rs.map((r) => r.right))]
      .map((x) => (x - box.left) * k);
  };
  return [...svg.querySelectorAll('.notation-item')].map((g) => ({
    label: span([g.querySelector('.notation-label')]),
    symbol: span([...g.children].filter((n) => !n.matches('.notation-label'))),
  }));
}"""


@pytest.mark.parametrize("lang", LANGS)
def test_notation_names_keep_apart_and_sit_under_their_symbols(page: Page, lang: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    open_section(page, "notation", lang)
    svg = page.locator("#fig-notation")
    items = svg.evaluate(NOTATION_BOXES_JS)
    width = svg.evaluate("(s) => s.viewBox.baseVal.width")
    assert len(items) == 5
    labels = [item["label"] for item in items]
    gaps = [b[0] - a[1] for a, b in pairwise(labels)]
    assert min(gaps) >= 24, gaps  # NOTATION.minGap is 32 (static/js/config.js)
    assert labels[0][0] >= 0 and labels[-1][1] <= width  # nothing clipped at the sides
    for item in items:
        (l0, l1), (s0, s1) = item["label"], item["symbol"]
        assert s0 - 1 <= (l0 + l1) / 2 <= s1 + 1  # the name is centred under its own symbol
