"""Gatescope from Python: trace a live model, look at it inline or save it as one HTML file.

Usage::

    import gatescope
    tr = gatescope.trace(torch_lstm, x)        # computed here, no server
    tr.layers[0].f                             # (steps, hidden) NumPy array
    tr.show()                                  # the explorer, inline in Jupyter
    tr.save_html("lstm.html")                  # the explorer as one self-contained file
    gatescope.Client("http://host:8000").trace("model-id", x)  # the same, from a server
"""

from app import __version__
from gatescope.adapters import ModelError
from gatescope.client import Client, ServerError
from gatescope.local import trace
from gatescope.result import Layer, Trace

__all__ = ["Client", "Layer", "ModelError", "ServerError", "Trace", "__version__", "trace"]
