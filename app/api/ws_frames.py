"""Reading one client message off a WebSocket, for the step and train sockets alike."""

from fastapi import WebSocket, WebSocketDisconnect

TOO_BIG = 1009  # WebSocket close code: message too big


class Oversized(Exception):
    """A message past max_ws_message_bytes: the socket answers with its error, then closes."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"the message has {size} bytes, the limit is {limit} (max_ws_message_bytes)"
        )


async def receive_text(ws: WebSocket, limit: int) -> str | None:
    """The next message as text (a binary one decoded as UTF-8, bad bytes replaced), or None
    once the client has gone. Raises Oversized past `limit` bytes."""
    try:
        raw = await ws.receive()
    except WebSocketDisconnect:
        return None
    if raw["type"] == "websocket.disconnect":
        return None
    text, blob = raw.get("text"), raw.get("bytes") or b""
    size = len(blob) if text is None else len(text.encode("utf-8"))
    if size > limit:
        raise Oversized(size, limit)
    return blob.decode("utf-8", errors="replace") if text is None else text
