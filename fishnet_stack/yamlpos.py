"""YAML documents as plain Python values plus the line and column of every value and key.

``load_positioned(text, source)`` composes the YAML node tree itself (not ``safe_load``) so that
each value can be traced back to where the user wrote it: ``Positioned.where(path)`` answers
``(line, column)`` (1-based) for a key path such as ``("executors", "timeslices", 1, "end")``,
falling back to the nearest enclosing value that has a position.

Only the YAML subset a configuration needs is accepted: mappings with string keys, sequences,
and scalars resolved by the safe loader (strings, ints, floats, booleans, null, dates).
Anything else (anchors are fine, custom tags are not) raises :class:`YamlError` with a position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["Path", "Positioned", "YamlError", "load_positioned"]

Path = tuple[str | int, ...]


class YamlError(ValueError):
    """The text is not YAML, or not the subset a configuration accepts; carries a position."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass
class Positioned:
    """A parsed document and the positions of its values (``values``) and keys (``keys``)."""

    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Position of ``path`` (of its key when ``key`` and one is known), else of the nearest
        ancestor; (1, 1) for the document itself."""
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return (1, 1)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self) -> None:
        self.doc = Positioned(data=None)
        self._scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.doc.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, (*path, "<key>"))
                if not isinstance(key, str):
                    line, column = _mark(key_node)
                    raise YamlError(f"keys must be strings, not {key!r}", line, column)
                if key in result:
                    line, column = _mark(key_node)
                    raise YamlError(f"key {key!r} appears twice", line, column)
                self.doc.keys[(*path, key)] = _mark(key_node)
                result[key] = self.build(value_node, (*path, key))
            self.doc.values.pop((*path, "<key>"), None)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            line, column = _mark(node)
            raise YamlError(f"unsupported value: {exc.problem}", line, column) from exc


def load_positioned(text: str) -> Positioned:
    """Parse one YAML document; raises :class:`YamlError` (with its position) on bad YAML."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlError(f"invalid YAML: {exc.problem or exc.context}", line, column) from exc
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", 1, 1) from exc
    builder = _Builder()
    if node is not None:
        builder.doc.data = builder.build(node, ())
    return builder.doc
