"""A stdlib-only ASGI program for the compute-node tests: it reports what it can see.

GET /            -> {"env": {...selected variables...}, "path": ..., "query": ...}
GET /events      -> {"events": [item_hash, ...]} received as aleph.message events
GET /import/NAME -> {"ok": bool, "error": str | None}: can NAME be imported here?
POST /count      -> increments a counter kept in the persistent volume at /data/state
"""

import importlib
import json
import os

EVENTS = []
STATE = "/data/state/count"


async def _reply(send, status, body):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "aleph.message":
        body = (await receive())["body"]
        message = json.loads(body) if isinstance(body, (str, bytes)) else body
        EVENTS.append(message["item_hash"])
        await _reply(send, 200, {"ok": True})
        return
    path = scope["path"]
    if path == "/events":
        await _reply(send, 200, {"events": EVENTS})
    elif path.startswith("/import/"):
        try:
            importlib.import_module(path.split("/")[-1])
            await _reply(send, 200, {"ok": True, "error": None})
        except ImportError as exc:
            await _reply(send, 200, {"ok": False, "error": str(exc)})
    elif path == "/count" and scope["method"] == "POST":
        count = int(open(STATE).read()) + 1 if os.path.exists(STATE) else 1
        with open(STATE, "w") as handle:
            handle.write(str(count))
        await _reply(send, 200, {"count": count})
    else:
        names = ("GREETING", "ALEPH_API_HOST", "HOME", "VIRTUAL_ENV")
        await _reply(send, 200, {"env": {k: os.environ.get(k) for k in names},
                                 "path": path, "query": scope["query_string"].decode()})
