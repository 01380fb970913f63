"""``python -m api_app``: run the API standalone (development), settings as flags.

Same settings as a deployed VM (DESIGN section 5): the key is created in ``--data-dir/key``
on first start; authorise its address for the owner (``fishnet-stack authorize``) so that the
records it writes are accepted. Prints nothing but uvicorn's log; exits non-zero with one line
on bad settings.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import httpx
import uvicorn

from api_app.app import create_app
from api_app.state import parse_slices
from fishnet_stack.errors import FishnetError
from fishnet_stack.vm import VmContext, VmIdentity, VmSettings, with_contract


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api_app", description=__doc__)
    parser.add_argument("--aleph-api", required=True, help="the Aleph node's URL")
    parser.add_argument("--channel", required=True, help="the stack's channel")
    parser.add_argument("--owner", required=True, help="the stack owner's address")
    parser.add_argument("--data-dir", required=True, type=Path, help="key and chunk cache")
    parser.add_argument("--slices", default="",
                        help="slice cut points, comma-separated Unix seconds or ISO times")
    parser.add_argument("--release", type=int, default=0, help="release to stamp executions")
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--version", default="dev")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", args.owner):
        print(f"api_app: --owner {args.owner!r} is not an 0x address", file=sys.stderr)
        return 2
    try:
        slices = parse_slices(args.slices)
        settings = VmSettings(
            stack=args.stack, channel=args.channel, owner=args.owner, role="api",
            version=args.version, release=args.release, slice_start=None, slice_end=None,
            data_dir=args.data_dir, aleph_api=args.aleph_api)
        context = VmContext(settings, VmIdentity.load_or_create(args.data_dir))
    except (FishnetError, ValueError) as exc:
        print(f"api_app: {exc}", file=sys.stderr)
        return 2
    try:
        httpx.get(f"{args.aleph_api.rstrip('/')}/api/v0/version", timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        print(f"api_app: the Aleph node at {args.aleph_api} does not answer ({exc}); "
              "start it (fishnet-stack devnet up) or fix --aleph-api", file=sys.stderr)
        return 2
    app = with_contract(create_app(context, slices), context, tree_hash="standalone")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
