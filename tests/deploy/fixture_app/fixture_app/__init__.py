"""A stdlib-only app that follows the VM contract, for the deployer's tests.

``create_app(context)`` returns a bare ASGI app; ``/health`` and ``/identity`` are served by
``fishnet_stack.vm.with_contract`` in front of it (the rendered entrypoint does that).

GET /         -> {"role", "release", "slice": [start, end], "owner", "greeting"}
GET /events   -> {"events": [item_hash, ...]} received as aleph.message events
"""

import json
import os

from fishnet_stack.vm import VmContext


def create_app(context: VmContext):
    settings = context.settings
    events = []

    async def reply(send, status, body):
        data = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": data})

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "aleph.message":
            body = (await receive())["body"]
            message = json.loads(body) if isinstance(body, (str, bytes)) else body
            events.append(message["item_hash"])
            await reply(send, 200, {"ok": True})
            return
        if scope["path"] == "/events":
            await reply(send, 200, {"events": events})
            return
        start = settings.slice_start.isoformat() if settings.slice_start else None
        end = settings.slice_end.isoformat() if settings.slice_end else None
        await reply(send, 200, {"role": settings.role, "release": settings.release,
                                "slice": [start, end], "owner": settings.owner,
                                "greeting": os.environ.get("GREETING")})

    return app
