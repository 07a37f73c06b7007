"""JSON text for display-rounded arrays, written by NumPy table look-ups instead of per number.

Every number of an array is printed in a fixed-width record: the sign and integer part
right-aligned in ``k + 1`` bytes, then ``.ddddd`` (DECIMALS digits) and ``, `` (or ``],`` at the
end of a row), e.g. ``  0.12346,  -0.50000, ``. Leading blanks are JSON whitespace, so the text
parses to exactly ``np.round(a, DECIMALS)``. Records are filled with one 8-byte fraction word
per number from a table and the sign and integer part (arithmetic for one digit, a second
table otherwise), stored through unaligned strided views: no per-number Python or formatting
code runs, at about 10 bytes a number. Scratch arrays are kept per thread so a large trace does
not page in fresh memory for every temporary. Arrays with values of 10**4 or more (or
non-finite ones) go through orjson instead.
"""

import threading
from typing import Any

import numpy as np
import orjson

DECIMALS = 5
_SCALE = 10**DECIMALS
_MAX_DIGITS = 4  # integer parts below 10**4 use the tables
_PREFIX = 8  # each row starts with "       [": blanks that absorb integer words' padding
_BLOCK = 1 << 14  # numbers converted at once: the temporaries stay in the CPU cache
_KEEP = 1 << 20  # scratch arrays up to this many numbers stay allocated, per thread


def _words(texts: list[str]) -> np.ndarray:
    raw = b"".join(t.encode("ascii") for t in texts)
    return np.frombuffer(raw, dtype=np.uint64).copy()


# Fraction words, exactly 8 bytes: ".12346, " inside a row, ".12346]," at its end. The extra
# last entry (index _SCALE: the fraction of 1.00000) lets |values| <= 1 skip the divmod.
_FRAC = _words([f".{fp % _SCALE:0{DECIMALS}d}, " for fp in range(_SCALE + 1)])
_FRAC_END = _words([f".{fp % _SCALE:0{DECIMALS}d}]," for fp in range(_SCALE + 1)])
# Integer words, right-aligned in 8 bytes; index ip + neg * 10**_MAX_DIGITS.
_INT = _words([f"{'-' if neg else ''}{ip}".rjust(8) for neg in (0, 1) for ip in range(10**4)])
_SIGN = ord("-") - ord(" ")
_ROW_OPEN = np.frombuffer(b"       [", dtype=np.uint64)[0]
_local = threading.local()


def _scratch(name: str, shape: tuple[int, int], dtype: Any) -> np.ndarray:
    size = shape[0] * shape[1]
    if size > _KEEP:
        return np.empty(shape, dtype)
    kept: dict[str, np.ndarray] = _local.__dict__.setdefault("arrays", {})
    arr = kept.get(name)
    if arr is None or arr.size < size:
        arr = kept[name] = np.empty(max(size, 1 << 14), dtype)
    return arr[:size].reshape(shape)


def rounded_rows(a: np.ndarray) -> bytes:
    """A non-empty 2-d array as JSON ``[[...],...]``, rounded to DECIMALS decimals."""
    a = np.asarray(a)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"expected a non-empty 2-d array, got shape {a.shape}")
    rows, cols = a.shape
    top = float(np.rint(max(abs(float(a.max())), abs(float(a.min()))) * _SCALE))
    if not top < 10**_MAX_DIGITS * _SCALE:  # also catches NaN and infinities
        text = orjson.dumps(np.round(a.astype(np.float64), DECIMALS),
                            option=orjson.OPT_SERIALIZE_NUMPY)  # fmt: skip
        return text
    digits = len(str(int(top) // _SCALE))
    width = digits + 1 + 8  # sign and digits, then the fraction word
    row_bytes = _PREFIX + cols * width  # "       [" then the records
    buf = np.empty(1 + rows * row_bytes, dtype=np.uint8)  # the outer "[" first
    step = max(1, _BLOCK // cols)  # rows per block: the temporaries stay in the CPU cache
    for r0 in range(0, rows, step):
        _records(a[r0 : r0 + step], buf, 1 + r0 * row_bytes, row_bytes, digits, top)
    # Row prefixes last: the first integer word of a row spills its padding into them.
    np.ndarray((rows,), np.uint64, buf, 1, strides=(row_bytes,))[...] = _ROW_OPEN
    buf[0], buf[-1] = ord("["), ord("]")  # the outer brackets; "]," ends the last row
    return buf.tobytes()


def _records(
    a: np.ndarray, buf: np.ndarray, start: int, row_bytes: int, digits: int, top: float
) -> None:
    """Write the records of the rows of `a` into buf, the first row starting at byte `start`
    (with its prefix, written later). An 8-byte integer word spills up to 6 blank bytes
    before its record: into the previous record's fraction (written after it) or, at the
    start of a row, into the row's prefix."""
    shape = a.shape
    width = digits + 1 + 8

    def words(offset: int, dtype: Any = np.uint64) -> np.ndarray:  # unaligned, strided
        return np.ndarray(shape, dtype, buf, start + _PREFIX + offset, strides=(row_bytes, width))

    q = np.multiply(a, _SCALE, out=_scratch("q", shape, np.float64), dtype=np.float64)
    np.rint(q, out=q)
    qi = _scratch("qi", shape, np.int32)
    qi[...] = q  # integral already, |qi| < 10**9
    sign = np.right_shift(qi, 31, out=_scratch("sign", shape, np.int32))  # -1 if negative
    np.abs(qi, out=qi)
    ip = _scratch("ip", shape, np.int32)
    if top <= _SCALE:  # every |value| <= 1 (gates, tanh): the fraction table covers 1.00000
        np.equal(qi, _SCALE, out=ip, casting="unsafe")
        fp = qi
    else:
        fp = _scratch("fp", shape, np.int32)
        np.divmod(qi, _SCALE, out=(ip, fp))
    if digits == 1:  # sign and digit as one 2-byte word: low byte the sign, high byte the digit
        ip += ord("0")
        ip <<= 8
        ip += ord(" ")
        sign &= _SIGN  # " " + 13 = "-"
        ip += sign
        words(0, np.uint16)[...] = ip
    else:  # the 8-byte word ends at the integer part; its padding spills before the record
        sign &= 10**_MAX_DIGITS  # negative numbers: the second half of _INT
        ip += sign
        words(digits + 1 - 8)[...] = np.take(_INT, ip)
    fractions = words(digits + 1)
    fractions[...] = np.take(_FRAC, fp)
    fractions[:, -1] = _FRAC_END[fp[:, -1]]


def rounded_vector(a: np.ndarray) -> bytes:
    """A non-empty 1-d array as JSON ``[...]``, rounded to DECIMALS decimals."""
    return rounded_rows(np.asarray(a).reshape(1, -1))[1:-1]
