"""Everything that speaks Aleph: the only package that imports ``aleph.sdk``.

Submodules are imported explicitly (``from fishnet_stack.aleph import signing``) so that light
users such as the devnet node do not pay for importing the SDK.
"""
