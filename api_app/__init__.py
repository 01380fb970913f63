"""The Fishnet API app (DESIGN section 6.3): records, permissions and data over HTTP.

- :func:`create_app` ``(context, slices=None)``: the FastAPI app for a
  :class:`fishnet_stack.vm.VmContext` (the VM contract's app factory);
- :func:`api_app.asgi.build`: the whole ASGI app from the environment (``FISHNET_*``), with
  ``/health`` and ``/identity``;
- ``python -m api_app --aleph-api URL --channel C --owner ADDRESS --data-dir DIR`` runs it.
"""

from api_app.app import create_app

__all__ = ["create_app"]
