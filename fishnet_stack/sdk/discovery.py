"""Finding a deployment from the network: the owner's manifest names the API instances of the
active release, and the owner's ``security`` aggregate must authorise every VM it names.

No URL is typed by hand: URLs derive from the node and each program's item_hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from fishnet_stack.aleph.reader import NodeReader
from fishnet_stack.aleph.security import authorised_addresses
from fishnet_stack.errors import ConfigError, UntrustedDeployment
from fishnet_stack.manifest import Manifest, ManifestError, Release, manifest_key, vm_url

__all__ = ["Deployment", "discover", "owner_delegates"]


@dataclass(frozen=True)
class Deployment:
    """The active release of ``stack`` by ``owner`` on the node at ``node_url``."""

    node_url: str
    owner: str
    stack: str
    release_number: int
    release: Release
    manifest: Manifest
    api_urls: tuple[str, ...]


def owner_delegates(node: NodeReader, owner: str) -> set[str]:
    """Lower-cased addresses the owner's ``security`` aggregate authorises (any scope)."""
    security = node.aggregate(owner, "security") or {}
    return authorised_addresses(security.get("authorizations"))


def discover(node: NodeReader, owner: str, stack: str, devnet: bool) -> Deployment:
    """The deployment of ``stack`` by ``owner``.

    Raises :class:`ConfigError` when the owner has no (active) deployment of that stack, and
    :class:`UntrustedDeployment` when the manifest names a VM whose address the owner's
    ``security`` aggregate does not authorise (a manifest cannot vouch for itself).
    """
    raw = node.aggregate(owner, manifest_key(stack))
    if raw is None:
        raise ConfigError(f"{owner} has no deployment of stack {stack!r} on {node.url}; "
                          "deploy it with `fishnet-stack apply`")
    try:
        manifest = Manifest.parse(raw)
    except ManifestError as exc:
        raise UntrustedDeployment(f"the manifest of {stack!r} is malformed: {exc}") from exc
    release = manifest.active_release
    if release is None or manifest.active is None:
        raise ConfigError(f"stack {stack!r} of {owner} has no active release (destroyed?)")
    allowed = owner_delegates(node, owner)
    for item_hash in release.programs:
        address = release.identities.get(item_hash)
        if address is None or address.lower() not in allowed:
            raise UntrustedDeployment(
                f"the manifest of {stack!r} names VM {item_hash} "
                f"({address or 'no identity'}), which {owner} has not authorised; refusing it")
    return Deployment(
        node_url=node.url, owner=owner, stack=stack, release_number=manifest.active,
        release=release, manifest=manifest,
        api_urls=tuple(vm_url(node.url, h, devnet) for h in release.api),
    )
