"""Re-extract pride-and-prejudice.txt from Debian's r-cran-janeaustenr package, without R.

    apt-get download r-cran-janeaustenr && dpkg-deb -x r-cran-janeaustenr_*.deb deb
    python -m app.training.corpus.extract_janeaustenr \\
        deb/usr/lib/R/site-library/janeaustenr/data/Rdata prideprejudice > pride-and-prejudice.txt

The package keeps each novel as an R character vector (one element a line) in R's lazy-load
database: Rdata.rdx (a gzip- or zlib-compressed serialized index) and Rdata.rdb (zlib blobs,
each a serialized object). This reader understands just the XDR serialization types
that appear there.
"""

import gzip
import struct
import sys
import zlib
from typing import Any

NIL, SYM, PAIRLIST, CHARSXP, LGL, INT, REAL, STR, VEC, REF = 254, 1, 2, 9, 10, 13, 14, 16, 19, 255
SPECIALS = {253, 252, 251, 250, 242, 241}  # global/empty/base environments, missing arg


class _Reader:
    def __init__(self, data: bytes) -> None:
        if data[:2] != b"X\n":
            raise ValueError(f"not an XDR serialization (starts with {data[:2]!r})")
        self.data, self.pos = data, 2
        self.refs: list[Any] = []
        version = self.int()
        self.pos += 8  # writer and minimal reader versions
        if version == 3:
            self.pos += 4 + self.int()  # native encoding name

    def int(self) -> int:
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return int(value)

    def item(self) -> Any:
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind == NIL or kind in SPECIALS:
            return None
        if kind == REF:
            return self.refs[(flags >> 8 or self.int()) - 1]
        if kind == SYM:
            sym = ("sym", self.item())
            self.refs.append(sym)
            return sym
        if kind == CHARSXP:
            n = self.int()
            if n == -1:
                return None
            text = self.data[self.pos : self.pos + n].decode("utf-8")
            self.pos += n
            return text
        if kind == PAIRLIST:
            out = []
            while True:
                if has_attr:
                    self.item()
                tag = self.item() if has_tag else None
                out.append((tag, self.item()))
                flags = self.int()
                if flags & 0xFF == NIL:
                    return dict((t[1], v) for t, v in out if t)
                has_attr, has_tag = flags & (1 << 9), flags & (1 << 10)
        n = self.int()
        if kind in (STR, VEC):
            value: Any = [self.item() for _ in range(n)]
        elif kind in (INT, LGL):
            value = list(struct.unpack_from(f">{n}i", self.data, self.pos))
            self.pos += 4 * n
        elif kind == REAL:
            value = list(struct.unpack_from(f">{n}d", self.data, self.pos))
            self.pos += 8 * n
        else:
            raise ValueError(f"serialized type {kind} at byte {self.pos} is not supported")
        attrs = self.item() if has_attr else None
        if kind == VEC and attrs and "names" in attrs:
            return dict(zip(attrs["names"], value, strict=True))
        return value


def unserialize(data: bytes) -> Any:
    return _Reader(data).item()


def read_object(base: str, name: str) -> Any:
    """The object `name` from the lazy-load database base.rdx / base.rdb."""
    with open(base + ".rdx", "rb") as fh:
        raw = fh.read()
    index = unserialize(
        gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else zlib.decompress(raw[4:])
    )
    offset, length = index["variables"][name]
    with open(base + ".rdb", "rb") as fh:
        fh.seek(offset)
        blob = fh.read(length)
    return unserialize(zlib.decompress(blob[4:]))  # 4 bytes of uncompressed length first


def main(argv: list[str]) -> int:
    base, name = argv
    lines = read_object(base, name)
    sys.stdout.write("\n".join("" if line is None else line for line in lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
