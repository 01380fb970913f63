"""``posts.json``: original POSTs merged with their latest amend, as pyaleph's v0 API gives them."""

from __future__ import annotations

from typing import Any

from fishnet_stack.devnet.query import MessageQuery
from fishnet_stack.devnet.store import NodeStore, StoredMessage

__all__ = ["posts_page"]


def posts_page(store: NodeStore, query: MessageQuery, dates: MessageQuery, page: int,
                size: int) -> dict[str, Any]:
    """Original POSTs matching ``query``, each merged with its latest amend (pyaleph's v0
    posts: content and item_hash of the latest amend, original_* of the original)."""
    where, args = query.sql()
    where += " AND (content_type IS NULL OR content_type != 'amend')"
    latest = (
        "(SELECT a.item_hash FROM messages a WHERE a.status = 'processed' AND a.type = 'POST' "
        "AND a.content_type = 'amend' AND a.ref = messages.item_hash "
        "ORDER BY a.content_time DESC, a.seq DESC LIMIT 1)"
    )
    updated = (f"COALESCE((SELECT b.time FROM messages b WHERE b.item_hash = {latest}), "
               "messages.time)")
    date_clauses: list[str] = []
    if dates.start:
        date_clauses.append(f"{updated} >= ?")
        args.append(dates.start)
    if dates.end:
        date_clauses.append(f"{updated} < ?")
        args.append(dates.end)
    if date_clauses:
        where += " AND " + " AND ".join(date_clauses)
    total = store.count(where, args)
    direction = "DESC" if query.descending else "ASC"
    sql = (f"SELECT messages.*, {latest} AS latest FROM messages WHERE {where} "
           f"ORDER BY {updated} {direction}, item_hash ASC")
    if size:
        sql += f" LIMIT {int(size)} OFFSET {(page - 1) * size}"
    posts = []
    for row in store.rows(sql, args):
        original = StoredMessage(row)
        amend = store.get(row["latest"]) if row["latest"] else None
        current = amend if amend is not None else original
        body = current.content.get("content")
        posts.append({
            "chain": current["chain"], "item_hash": current["item_hash"],
            "sender": original["owner"], "type": current["content_type"],
            "channel": original["channel"], "confirmed": False,
            "content": body if isinstance(body, dict) else {"content": body},
            "item_content": current["item_content"], "item_type": current["item_type"],
            "signature": current["signature"], "size": current["size"], "time": current["time"],
            "confirmations": [], "original_item_hash": original["item_hash"],
            "original_signature": original["signature"],
            "original_type": original["content_type"], "hash": original["item_hash"],
            "address": original["owner"], "ref": original["ref"],
        })
    return {"posts": posts, "pagination_page": page, "pagination_total": total,
            "pagination_per_page": size, "pagination_item": "posts"}

