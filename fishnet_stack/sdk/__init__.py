"""The Fishnet SDK: find a deployment, sign every request, speak pandas.

>>> from fishnet_stack.sdk import Fishnet, Wallet
>>> fishnet = Fishnet.from_stack("stacks/local.yaml", wallet=Wallet.create("me.key"))
>>> result = fishnet.executions.run(dataset, algorithm)
>>> result.to_pandas()

Errors are the typed ones of :mod:`fishnet_stack.errors` (``PermissionDenied``, ``NotFound``,
``SignatureRejected``, ``ExecutionFailed``, ``UntrustedDeployment``, ...).
"""

from fishnet_stack.sdk.client import Fishnet
from fishnet_stack.sdk.discovery import Deployment
from fishnet_stack.sdk.results import ExecutionResult
from fishnet_stack.sdk.wallet import Wallet

__all__ = ["Deployment", "ExecutionResult", "Fishnet", "Wallet"]
