"""JSON text for display-rounded arrays, written by NumPy table look-ups instead of per number.

Every number of an array is printed in a fixed-width record: the sign and integer part
right-aligned in ``k + 1`` bytes, then ``.ddddd`` (DECIMALS digits) and ``, `` (or ``],`` at the
end of a row), e.g. ``  0.12346,  -0.50000, ``. Leading blanks are JSON whitespace, so the text
parses to exactly ``np.round(a, DECIMALS)``. Records are filled with two 8-byte words per
number taken from small tables and stored through unaligned strided views, so no per-number
Python or formatting code runs: for a 1000 x 128 trace field this is several times faster
than orjson, at about 10 bytes a number. Arrays with values of 10**4 or more (or non-finite
ones) go through orjson instead.
"""

import numpy as np
import orjson

DECIMALS = 5
_SCALE = 10**DECIMALS
_MAX_DIGITS = 4  # integer parts below 10**4 use the tables
_SLACK = 8  # bytes in front of the text that absorb the first integer word's padding


def _words(texts: list[str]) -> np.ndarray:
    raw = b"".join(t.encode("ascii") for t in texts)
    return np.frombuffer(raw, dtype=np.uint64).copy()


# Fraction words, exactly 8 bytes: ".12346, " inside a row, ".12346]," at its end.
_FRAC = _words([f".{fp:0{DECIMALS}d}, " for fp in range(_SCALE)])
_FRAC_END = _words([f".{fp:0{DECIMALS}d}]," for fp in range(_SCALE)])
# Integer words, right-aligned in 8 bytes; index ip + neg * 10**_MAX_DIGITS.
_INT = _words([f"{'-' if neg else ''}{ip}".rjust(8) for neg in (0, 1) for ip in range(10**4)])


def rounded_rows(a: np.ndarray) -> bytes:
    """A non-empty 2-d array as JSON ``[[...],...]``, rounded to DECIMALS decimals."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"expected a non-empty 2-d array, got shape {a.shape}")
    q = np.abs(a) * _SCALE
    np.rint(q, out=q)
    top = float(q.max())
    if not top < 10**_MAX_DIGITS * _SCALE:  # also catches NaN and infinities
        return orjson.dumps(np.round(a, DECIMALS), option=orjson.OPT_SERIALIZE_NUMPY)
    digits = len(str(int(top) // _SCALE))
    width = digits + 1 + 8  # sign and digits, then the fraction word
    rows, cols = a.shape
    row_bytes = 1 + cols * width  # "[" then the records
    buf = np.empty(_SLACK + rows * row_bytes, dtype=np.uint8)

    qi = q.astype(np.int64)
    ip = qi // _SCALE
    fp = qi - ip * _SCALE
    ip += ((a < 0) & (qi != 0)) * 10**_MAX_DIGITS  # negative numbers: second half of _INT

    def words(offset: int) -> np.ndarray:  # one uint64 per number, unaligned, strided
        return np.ndarray(
            (rows, cols), np.uint64, buf, offset, strides=(row_bytes, width)
        )  # fmt: skip

    # The integer word's padding lands on the bytes before it (the previous fraction word or
    # the row's "["), which are written afterwards: order matters.
    words(_SLACK + 1 + digits + 1 - 8)[...] = _INT[ip]
    fractions = words(_SLACK + 1 + digits + 1)
    fractions[...] = _FRAC[fp]
    fractions[:, -1] = _FRAC_END[fp[:, -1]]
    buf[_SLACK::row_bytes][:rows] = ord("[")
    return b"[" + buf[_SLACK:-1].tobytes() + b"]"  # drop the "," after the last row


def rounded_vector(a: np.ndarray) -> bytes:
    """A non-empty 1-d array as JSON ``[...]``, rounded to DECIMALS decimals."""
    return rounded_rows(np.asarray(a).reshape(1, -1))[1:-1]
