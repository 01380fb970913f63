"""The API's routers, one module per resource; thin over the index, access checks and
:class:`~api_app.state.ApiState`."""
