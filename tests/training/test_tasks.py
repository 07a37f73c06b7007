import numpy as np
import pytest

from app.engine.tasks import BracketDepth, CharLM, DelayedRecall, Sine, one_hot
from app.engine.tasks.char_lm import (
    inside_quotes,
    position_in_line,
    position_in_sentence,
    position_in_word,
)


def test_one_hot_puts_a_single_one_per_row():
    out = one_hot(np.array([[2, 0]]), 3)
    np.testing.assert_array_equal(out, [[[0, 0, 1], [1, 0, 0]]])


def test_delayed_recall_puts_country_gap_and_query_in_place():
    task = DelayedRecall(countries=4)
    rng = np.random.default_rng(1)
    batch, country, country_step = task.make(rng, 32, gap=40)
    T, B, width = batch.x.shape
    assert B == 32
    assert width == task.input_size
    ids = batch.x.argmax(axis=-1)
    assert np.all(batch.x.sum(axis=-1) == 1.0)
    np.testing.assert_array_equal(T - 2 - country_step, 40)
    np.testing.assert_array_equal(ids[country_step, np.arange(B)], country)
    assert np.all(ids[-1] == task.query_id)
    # exactly one country token per row and it is the listed one
    assert np.all((ids < task.countries).sum(axis=0) == 1)
    np.testing.assert_array_equal(batch.targets[-1], task.countries + country)
    assert batch.mask.sum() == B and np.all(batch.mask[-1] == 1.0)
    assert task.vocab is not None
    assert [task.vocab[i] for i in batch.targets[-1, :2]] == [
        task.vocab[task.language_id(int(k))] for k in country[:2]
    ]


def test_delayed_recall_training_gaps_span_the_range_one_gap_per_batch():
    task = DelayedRecall(min_gap=3, max_gap=9, prefix=0)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(100):
        batch, _, country_step = task.make(rng, 8)
        gaps = batch.x.shape[0] - 2 - country_step
        assert len(set(gaps)) == 1  # no row gets a long filler prefix by padding
        seen.add(int(gaps[0]))
    assert seen == set(range(3, 10))


def test_delayed_recall_refuses_bad_sizes():
    with pytest.raises(ValueError, match="countries is 9"):
        DelayedRecall(countries=9)
    with pytest.raises(ValueError, match="max_gap is 2, must be at least 5"):
        DelayedRecall(min_gap=5, max_gap=2)
    with pytest.raises(ValueError, match="'Paris' is not in"):
        DelayedRecall().encode(["I", "Paris"])


def test_bracket_depth_targets_are_the_running_depth():
    task = BracketDepth(length=50, max_depth=5)
    batch, depth = task.make(np.random.default_rng(2), 64)
    ids = batch.x.argmax(axis=-1)
    running = np.cumsum((ids == 0).astype(int) - (ids == 1).astype(int), axis=0)
    np.testing.assert_array_equal(depth, running)
    assert depth.min() == 0 and depth.max() == 5
    np.testing.assert_array_equal(batch.targets, depth)


def test_bracket_depth_encode_and_refusals():
    task = BracketDepth(max_depth=2)
    x, d = task.encode("(x(y))")
    np.testing.assert_array_equal(d, [1, 1, 2, 2, 1, 0])
    assert x.shape == (6, 4)
    with pytest.raises(ValueError, match="depth 3 at 2"):
        task.encode("(((")
    with pytest.raises(ValueError, match="character 'z' at 1"):
        task.encode("(z)")


def test_sine_target_is_the_next_input():
    task = Sine(length=30, noise=0.0)
    batch, freq = task.make(np.random.default_rng(3), 8)
    np.testing.assert_array_equal(batch.targets[:-1], batch.x[1:])
    assert batch.x.shape == (30, 8, 1)
    # noise-free rows obey the sine recurrence x[t+1] = 2 cos(w) x[t] - x[t-1]
    x = batch.x[:, :, 0]
    np.testing.assert_allclose(x[2:], 2 * np.cos(freq) * x[1:-1] - x[:-2], atol=1e-12)


def test_char_lm_features_on_a_hand_made_text():
    text = 'a "bc" d\n"e\n\nf'
    np.testing.assert_array_equal(inside_quotes(text), [0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(
        position_in_line(text), [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 0, 0, 1]
    )
    np.testing.assert_array_equal(position_in_word("ab c"), [1, 2, 0, 1])
    np.testing.assert_array_equal(
        position_in_word("abcdefghij k"), [1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 0, 1]
    )
    np.testing.assert_array_equal(position_in_sentence("Hi. Yo!"), [1, 2, 0, 1, 2, 3, 0])


def test_char_lm_streams_continue_the_text_across_chunks():
    text = "".join(chr(97 + (i * 7) % 26) for i in range(5000))
    task = CharLM(text, length=20)
    streams = task.streams(np.random.default_rng(4), 4)
    first, _ = streams.next()
    second, reset2 = streams.next()
    assert not reset2.any()
    # the second chunk starts where the first one's targets ended
    np.testing.assert_array_equal(second.x[0].argmax(-1), first.targets[-1])
    np.testing.assert_array_equal(first.x[1:].argmax(-1), first.targets[:-1])
    # readers wrap around, and say so, after the end of the training text
    wrapped = [streams.next()[1] for _ in range(300)]
    assert any(r.any() for r in wrapped)
    assert len(task.held_out_ids) == 500


def test_char_lm_unigram_bits_is_the_entropy_of_a_uniform_text():
    text = "abcd" * 1000
    assert CharLM(text, length=10).unigram_bits() == pytest.approx(2.0, abs=1e-3)


def test_char_lm_readers_jump_every_carry_chunks_at_staggered_times():
    text = "".join(chr(97 + (i * 3) % 26) for i in range(20000))
    task = CharLM(text, length=10, carry=3)
    streams = task.streams(np.random.default_rng(5), 6)
    resets = np.array([streams.next()[1] for _ in range(12)])  # (chunks, readers)
    for b in range(6):  # no reader goes more than 3 chunks without a fresh start
        starts = np.flatnonzero(resets[:, b])
        assert starts[0] <= 3 and np.all(np.diff(starts) <= 3)
    assert len({int(np.argmax(resets[:, b])) for b in range(6)}) == 3  # staggered
    assert task.span == 30


def test_char_lm_windows_cut_text_into_zero_state_pieces():
    task = CharLM("abcdefgh" * 100, length=5)
    ids, pieces = task.windows("abcdefg", 3)
    assert pieces == ["abc", "def"]
    assert ids.shape == (3, 2)
    np.testing.assert_array_equal(ids[:, 1], task.encode_ids("def"))
