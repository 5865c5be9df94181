"""Request size limits, enforced on the bytes as they arrive (Content-Length may be
missing or lie): file uploads (catalogs, finance files, settlement reports, brand kits)
up to ADREEL_API_MAX_UPLOAD_MB (through the API or the console), other bodies 1 MB."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException

from api.problems import problem

MAX_BODY_BYTES = 1024 * 1024
UPLOAD_PATHS = re.compile(
    r"/(catalog/uploads|finance/imports/[^/]+|reconciliations/[^/]+|brand-kit"
    # the console's forms that send files: catalog, brand kit, a campaign file, a
    # finance file and a settlement file (staff reach them all)
    r"|m/[^/]+/catalog|m/[^/]+/brand|merchants/[^/]+/campaigns/import"
    r"|finance/imports|finance/m/[^/]+/[^/]+/reconcile)$"
)


class TooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body parsing passes it on as it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the limit of {limit} bytes")


class BodyLimit:
    """ASGI middleware answering 413 once a body passes its limit."""

    def __init__(self, app, max_upload_bytes: int) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/")
        limit = self.max_upload_bytes if UPLOAD_PATHS.search(path) else MAX_BODY_BYTES
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0
        started = False

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(limit)
            return message

        async def tracked_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except TooLarge:
            if not started:
                await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope, receive, send, limit: int) -> None:
        response = problem(413, f"the request body is over the limit of {limit} bytes")
        await response(scope, receive, send)
