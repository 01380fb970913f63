"""The deployer: read live state (``state``), diff it (``plan``, pure), carry it out (``apply``).

Terraform's split: the stack file is the configuration (:mod:`fishnet_stack.stackfile`),
:class:`~fishnet_stack.deploy.state.ObservedState` is read from the network only, and
:class:`~fishnet_stack.deploy.plantypes.Plan` is what apply executes. The Python API (which the
CLI calls) is re-exported here::

    from fishnet_stack.deploy import load_stack, open_target, plan, apply, rollback, destroy, gc
"""

from fishnet_stack.deploy.operations import (
    Target,
    apply,
    build_artifacts,
    destroy,
    gc,
    open_target,
    plan,
    rollback,
)
from fishnet_stack.deploy.plantypes import Plan
from fishnet_stack.stackfile import load_stack

__all__ = ["Plan", "Target", "apply", "build_artifacts", "destroy", "gc", "load_stack",
           "open_target", "plan", "rollback"]
