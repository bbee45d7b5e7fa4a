"""Refuse request bodies over ``AGENTK_MAX_REQUEST_BYTES`` with a 413, declared length or not."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentk.api.errors import ErrorBody


class BodyLimitMiddleware:
    """Buffers at most ``max_bytes`` of a request body; a longer one gets 413 before the app sees it.

    The API takes small JSON bodies only, so buffering is cheap and catches chunked bodies that declare
    no length as well as lying ``Content-Length`` headers.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        body = ErrorBody(
            code="payload_too_large", message=f"the request body is larger than {self.max_bytes} bytes"
        ).model_dump_json()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})


__all__ = ["BodyLimitMiddleware"]
