"""Validating and applying incoming messages: the rules of a pyaleph node, in one place.

:meth:`MessageProcessor.submit` takes a message as sent to ``POST /api/v0/messages`` and returns
an :class:`Outcome`: processed (stored, side effects applied), pending (waits for something that
may still arrive: a FORGET's target, a STORE's file) or rejected (never stored; recorded with its
reason when the message is well-formed enough to have an item_hash).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from aleph_message.models import parse_message
from pydantic import ValidationError

from fishnet_stack.aleph.signing import aleph_verification_buffer, verify_text
from fishnet_stack.devnet.crn.program import DEFAULT_RUNTIME_ID
from fishnet_stack.devnet.permissions import Action, is_authorized
from fishnet_stack.devnet.store import NodeStore, StoredMessage

__all__ = ["ErrorCode", "MessageProcessor", "Outcome"]


_WIRE_FIELDS = ("chain", "sender", "type", "item_hash", "item_type", "signature", "time")


class ErrorCode:
    """pyaleph's rejection codes (``/api/v0/messages/{hash}`` ``error_code``)."""

    INVALID_FORMAT = 0
    INVALID_SIGNATURE = 1
    PERMISSION_DENIED = 2
    POST_AMEND_NO_TARGET = 100
    POST_AMEND_TARGET_NOT_FOUND = 101
    POST_AMEND_AMEND = 102
    STORE_UPDATE_UPDATE = 201
    VM_REF_NOT_FOUND = 300
    VM_VOLUME_NOT_FOUND = 301
    FORGET_TARGET_NOT_FOUND = 501
    FORGET_FORGET = 502
    FORGET_NOT_ALLOWED = 503
    FORGET_STORE_IN_USE = 505


class _Rejected(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class _Pending(Exception):
    pass


@dataclass
class Outcome:
    """What became of a submitted message. ``forgotten`` lists messages this one removed."""

    status: str  # "processed" | "pending" | "rejected"
    item_hash: str | None
    reason: str = ""
    error_code: int | None = None
    stored: StoredMessage | None = None
    duplicate: bool = False
    forgotten: list[str] = field(default_factory=list)


class MessageProcessor:
    """Applies messages to a :class:`NodeStore`. Not thread-safe: one caller at a time."""

    def __init__(self, store: NodeStore) -> None:
        self.store = store

    def submit(self, raw: Any) -> Outcome:
        """Validate and apply one message; afterwards retry pending messages it may unblock."""
        outcome = self._submit_one(raw)
        if outcome.status == "processed" and not outcome.duplicate:
            outcome.forgotten.extend(self._retry_pending())
        return outcome

    def retry_pending(self) -> list[str]:
        """Try pending messages again (e.g. after a file upload); returns the newly processed."""
        return self._retry_pending()

    def _retry_pending(self) -> list[str]:
        done: list[str] = []
        progress = True
        while progress:
            progress = False
            for message in self.store.all_pending():
                if self._submit_one(message).status != "pending":
                    done.append(message["item_hash"])
                    progress = True
        return done

    def _submit_one(self, raw: Any) -> Outcome:
        try:
            message = _wire_message(raw)
        except _Rejected as exc:
            return Outcome("rejected", None, exc.reason, exc.code)
        item_hash = message["item_hash"]
        existing = self.store.get(item_hash)
        if existing is not None:
            return Outcome("processed", item_hash, stored=existing, duplicate=True)
        try:
            content, size = self._content(message)
            if not verify_text(
                message["signature"],
                message["sender"],
                aleph_verification_buffer(
                    message["chain"], message["sender"], message["type"], item_hash
                ),
            ):
                raise _Rejected(ErrorCode.INVALID_SIGNATURE, "invalid signature")
            with self.store.transaction():
                forgotten = self._apply(message, content, size)
        except _Pending as exc:
            self.store.add_pending(message, str(exc))
            return Outcome("pending", item_hash, str(exc))
        except _Rejected as exc:
            self.store.reject(message, exc.code, {"errors": [exc.reason]})
            return Outcome("rejected", item_hash, exc.reason, exc.code)
        return Outcome("processed", item_hash, stored=self.store.get(item_hash),
                       forgotten=forgotten)

    # -- content ---------------------------------------------------------------------------

    def _content(self, message: dict[str, Any]) -> tuple[dict[str, Any], int]:
        if message["item_type"] == "inline":
            text = message["item_content"]
            raw = text.encode()
        elif message["item_type"] == "storage":
            data = self.store.files.get(message["item_hash"])
            if data is None:
                raise _Pending(f"content {message['item_hash']} is not in storage yet")
            raw, text = data, data.decode("utf-8", errors="replace")
        else:
            raise _Rejected(ErrorCode.INVALID_FORMAT, "devnet stores items inline or in storage, "
                            f"not {message['item_type']!r}")
        try:
            content = json.loads(text)
        except ValueError as exc:
            raise _Rejected(ErrorCode.INVALID_FORMAT, "item content is not valid JSON") from exc
        if not isinstance(content, dict):
            raise _Rejected(ErrorCode.INVALID_FORMAT, "item content must be a JSON object")
        full = {**message, "content": content}
        if message["item_type"] != "inline":
            full.pop("item_content", None)
        try:
            parse_message(full)
        except (ValidationError, ValueError, KeyError) as exc:
            raise _Rejected(ErrorCode.INVALID_FORMAT, f"invalid {message['type']} message: "
                            f"{_first_error(exc)}") from exc
        return content, len(raw)

    # -- rules and side effects --------------------------------------------------------------

    def _authorize(self, action: Action) -> None:
        if not is_authorized(action, self.store.aggregate(action.owner, "security")):
            raise _Rejected(
                ErrorCode.PERMISSION_DENIED,
                f"{action.sender} may not send {action.type} messages for {action.owner} "
                f"(channel {action.channel!r}); the owner's 'security' aggregate has no "
                "matching authorization",
            )

    def _apply(self, message: dict[str, Any], content: dict[str, Any], size: int) -> list[str]:
        kind, owner = message["type"], str(content.get("address", ""))
        action = Action(owner=owner, sender=message["sender"], chain=message["chain"],
                        channel=message.get("channel"), type=kind)
        forgotten: list[str] = []
        if kind == "POST":
            self._check_post(action, content)
        elif kind == "AGGREGATE":
            key = content["key"]["name"] if isinstance(content["key"], dict) else content["key"]
            if key == "security" and action.sender != owner:
                raise _Rejected(ErrorCode.PERMISSION_DENIED,
                                "only the address itself may change its 'security' aggregate")
            self._authorize(Action(**{**action.__dict__, "aggregate_key": key}))
        elif kind == "STORE":
            self._authorize(action)
            self._check_store(owner, content)
        elif kind in ("PROGRAM", "INSTANCE"):
            self._authorize(action)
            self._check_program(content)
        elif kind == "FORGET":
            forgotten = self._check_forget(message, content)
        self.store.insert(message, content, size)
        if kind == "AGGREGATE":
            key = content["key"]["name"] if isinstance(content["key"], dict) else content["key"]
            self.store.rebuild_aggregate(owner, key)
        elif kind == "FORGET":
            for target in forgotten:
                self._forget(target, message["item_hash"])
        return forgotten

    def _check_post(self, action: Action, content: dict[str, Any]) -> None:
        post_type = content.get("type")
        if post_type != "amend":
            self._authorize(Action(**{**action.__dict__, "post_type": post_type}))
            return
        ref = content.get("ref")
        if not isinstance(ref, str) or not ref:
            raise _Rejected(ErrorCode.POST_AMEND_NO_TARGET, "an amend needs a 'ref'")
        original = self.store.get_processed(ref)
        if original is None or original["type"] != "POST":
            raise _Rejected(ErrorCode.POST_AMEND_TARGET_NOT_FOUND,
                            f"amend target {ref} is not a known POST")
        if original["content_type"] == "amend":
            raise _Rejected(ErrorCode.POST_AMEND_AMEND, "cannot amend an amend; amend the original")
        if original["owner"] != action.owner:
            raise _Rejected(ErrorCode.PERMISSION_DENIED,
                            "an amend must keep the original's content.address "
                            f"({original['owner']})")
        self._authorize(Action(**{**action.__dict__, "post_type": original["content_type"]}))

    def _check_store(self, owner: str, content: dict[str, Any]) -> None:
        if content.get("item_type") == "storage" and not self.store.files.exists(
            str(content.get("item_hash"))
        ):
            raise _Pending(f"file {content.get('item_hash')} has not been uploaded yet")
        ref = content.get("ref")
        if isinstance(ref, str) and ref:
            target = self.store.get_processed(ref)
            if target is not None and target["type"] == "STORE" and target["ref"]:
                raise _Rejected(ErrorCode.STORE_UPDATE_UPDATE,
                                "a STORE ref must point at an original STORE, not at an update")
            if target is not None and target["type"] == "STORE" and target["owner"] != owner:
                raise _Rejected(ErrorCode.PERMISSION_DENIED,
                                f"STORE {ref} belongs to {target['owner']}; only its owner (or "
                                "a delegate sending for it) may update it")

    def _check_program(self, content: dict[str, Any]) -> None:
        refs: list[tuple[str, int, str]] = []
        for name in ("code", "data"):
            part = content.get(name)
            if isinstance(part, dict):
                refs.append((str(part.get("ref")), ErrorCode.VM_REF_NOT_FOUND, name))
        runtime = content.get("runtime")
        if isinstance(runtime, dict) and runtime.get("ref") != DEFAULT_RUNTIME_ID:
            refs.append((str(runtime.get("ref")), ErrorCode.VM_REF_NOT_FOUND, "runtime"))
        for volume in content.get("volumes") or []:
            if isinstance(volume, dict) and volume.get("ref"):
                refs.append((str(volume["ref"]), ErrorCode.VM_VOLUME_NOT_FOUND,
                             f"volume {volume.get('mount')}"))
        for ref, code, what in refs:
            target = self.store.get_processed(ref)
            if target is None or target["type"] != "STORE":
                raise _Rejected(code, f"{what} ref {ref} is not a known STORE message")

    def _check_forget(self, message: dict[str, Any], content: dict[str, Any]) -> list[str]:
        targets: list[str] = []
        for target_hash in content.get("hashes") or []:
            target = self.store.get(target_hash)
            if target is None:
                raise _Pending(f"forget target {target_hash} is not known yet")
            if target["type"] == "FORGET":
                raise _Rejected(ErrorCode.FORGET_FORGET, "a FORGET cannot be forgotten")
            may = is_authorized(
                Action(
                    owner=target["owner"], sender=message["sender"], chain=target["chain"],
                    channel=target["channel"], type=target["type"],
                    post_type=_original_post_type(self.store, target),
                    aggregate_key=target["content_key"],
                ),
                self.store.aggregate(target["owner"], "security"),
            )
            if not may:
                raise _Rejected(ErrorCode.FORGET_NOT_ALLOWED,
                                f"{message['sender']} may not forget {target_hash}, which "
                                f"belongs to {target['owner']}")
            if target["status"] == "forgotten":
                continue
            if target["type"] == "STORE":
                users = self._programs_using(target_hash)
                if users:
                    raise _Rejected(ErrorCode.FORGET_STORE_IN_USE,
                                    f"STORE {target_hash} is used by live program {users[0]}; "
                                    "forget the program first")
            targets.append(target_hash)
            if target["type"] == "POST" and target["content_type"] != "amend":
                targets.extend(r["item_hash"] for r in self.store.rows(
                    "SELECT item_hash FROM messages WHERE status = 'processed' AND type = 'POST' "
                    "AND content_type = 'amend' AND ref = ?", (target_hash,)))
        return targets

    def _programs_using(self, store_hash: str) -> list[str]:
        users = []
        for row in self.store.rows(
            "SELECT item_hash, content FROM messages WHERE status = 'processed' "
            "AND type IN ('PROGRAM', 'INSTANCE') AND content LIKE ?", (f"%{store_hash}%",)
        ):
            content = json.loads(row["content"])
            refs = [(content.get(p) or {}).get("ref") for p in ("code", "runtime", "data")]
            refs += [v.get("ref") for v in content.get("volumes") or [] if isinstance(v, dict)]
            if store_hash in refs:
                users.append(row["item_hash"])
        return users

    def _forget(self, target_hash: str, forget_hash: str) -> None:
        target = self.store.get(target_hash)
        if target is None:
            return
        content = target.content
        self.store.mark_forgotten(target_hash, forget_hash)
        if target["item_type"] == "storage":
            self.store.files.delete(target_hash)
        if target["type"] == "AGGREGATE":
            self.store.rebuild_aggregate(target["owner"], target["content_key"])
        elif target["type"] == "STORE":
            file_hash = str(content.get("item_hash"))
            if not self.store.rows(
                "SELECT 1 FROM messages WHERE status = 'processed' AND type = 'STORE' "
                "AND content_item_hash = ? LIMIT 1", (file_hash,)
            ):
                self.store.files.delete(file_hash)


def _original_post_type(store: NodeStore, target: StoredMessage) -> str | None:
    if target["type"] != "POST":
        return None
    if target["content_type"] == "amend" and target["ref"]:
        original = store.get(target["ref"])
        return original["content_type"] if original is not None else None
    return str(target["content_type"]) if target["content_type"] is not None else None


def _wire_message(raw: Any) -> dict[str, Any]:
    """Check the shape of a sent message (the 9 wire fields) and of inline hashes."""
    if not isinstance(raw, dict):
        raise _Rejected(ErrorCode.INVALID_FORMAT, "'message' must be a JSON object")
    missing = [f for f in _WIRE_FIELDS if raw.get(f) is None]
    if missing:
        raise _Rejected(ErrorCode.INVALID_FORMAT, f"message is missing {', '.join(missing)}")
    for name in ("chain", "sender", "type", "item_hash", "item_type", "signature"):
        if not isinstance(raw[name], str):
            raise _Rejected(ErrorCode.INVALID_FORMAT, f"message.{name} must be a string")
    if not isinstance(raw["time"], int | float) or isinstance(raw["time"], bool):
        raise _Rejected(ErrorCode.INVALID_FORMAT, "message.time must be a number")
    channel = raw.get("channel")
    if channel is not None and not isinstance(channel, str):
        raise _Rejected(ErrorCode.INVALID_FORMAT, "message.channel must be a string")
    if raw["chain"] != "ETH":
        raise _Rejected(ErrorCode.INVALID_FORMAT,
                        f"devnet verifies ETH signatures only, not chain {raw['chain']!r}")
    if raw["type"] not in ("POST", "AGGREGATE", "STORE", "PROGRAM", "INSTANCE", "FORGET"):
        raise _Rejected(ErrorCode.INVALID_FORMAT, f"unknown message type {raw['type']!r}")
    message = {k: raw[k] for k in (*_WIRE_FIELDS, "channel", "item_content") if k in raw}
    if message["item_type"] == "inline":
        text = raw.get("item_content")
        if not isinstance(text, str):
            raise _Rejected(ErrorCode.INVALID_FORMAT, "inline messages need item_content")
        if hashlib.sha256(text.encode()).hexdigest() != message["item_hash"]:
            raise _Rejected(ErrorCode.INVALID_FORMAT,
                            "item_hash does not match sha256(item_content)")
    elif raw.get("item_content") is not None:
        raise _Rejected(ErrorCode.INVALID_FORMAT, "only inline messages carry item_content")
    return message


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)
