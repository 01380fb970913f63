"""``python -m executor_app``: run one executor standalone (development), settings as flags.

Same settings as a deployed VM (DESIGN section 5): the key is created in ``--data-dir/key`` on
first start; authorise its address for the owner (``fishnet-stack authorize``) so that its
claims and results are accepted. Exits non-zero with one line on bad settings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

from executor_app.app import create_app
from fishnet_stack.errors import FishnetError
from fishnet_stack.timeutil import parse_instant
from fishnet_stack.vm import VmContext, VmIdentity, VmSettings, with_contract


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m executor_app", description=__doc__)
    parser.add_argument("--aleph-api", required=True, help="the Aleph node's URL")
    parser.add_argument("--channel", required=True, help="the stack's channel")
    parser.add_argument("--owner", required=True, help="the stack owner's address")
    parser.add_argument("--start", required=True, help="slice start, ISO 8601 ('' = open)")
    parser.add_argument("--end", required=True, help="slice end, ISO 8601 ('' = open)")
    parser.add_argument("--release", type=int, required=True, help="the release it serves")
    parser.add_argument("--data-dir", required=True, type=Path, help="key and chunk cache")
    parser.add_argument("--scan-interval", type=float, default=2.0,
                        help="seconds between scans for work")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    try:
        settings = VmSettings(
            stack="dev", channel=args.channel, owner=args.owner, role="executor",
            version="dev", release=args.release,
            slice_start=parse_instant(args.start) if args.start else None,
            slice_end=parse_instant(args.end) if args.end else None,
            data_dir=args.data_dir, aleph_api=args.aleph_api)
        context = VmContext(settings, VmIdentity.load_or_create(args.data_dir))
    except (FishnetError, ValueError) as exc:
        print(f"executor_app: {exc}", file=sys.stderr)
        return 2
    app = with_contract(create_app(context, scan_interval=args.scan_interval), context,
                        tree_hash="standalone")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                access_log=False, lifespan="on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
