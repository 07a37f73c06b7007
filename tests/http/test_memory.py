import platform

import pytest

from app.http.memory import keep_large_blocks


def test_keep_large_blocks_is_applied_by_glibc() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's; other C libraries keep their defaults")
    assert keep_large_blocks() is True
