"""Gatescope: see inside recurrent neural networks, one gate at a time."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gatescope")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+local"
