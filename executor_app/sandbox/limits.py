"""What one sandboxed run may consume."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]

MiB = 1024 * 1024
# pyarrow aborts with less than ~512 MiB of address space: never go below 1 GiB.
MIN_MEMORY = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    """Budgets of one run. ``memory_bytes`` is address space on top of what the warm parent
    already maps; ``output_bytes`` caps the serialised result."""

    cpu_seconds: int = 300
    wall_seconds: float = 600.0
    memory_bytes: int = 2048 * MiB
    output_bytes: int = 256 * MiB
    file_bytes: int = 64 * MiB

    def capped(self, ceiling: Limits) -> Limits:
        """These limits, none above ``ceiling``'s (params may lower limits, never raise them),
        and memory never under 1 GiB."""
        return Limits(
            cpu_seconds=max(1, min(self.cpu_seconds, ceiling.cpu_seconds)),
            wall_seconds=max(1.0, min(self.wall_seconds, ceiling.wall_seconds)),
            memory_bytes=max(MIN_MEMORY, min(self.memory_bytes, ceiling.memory_bytes)),
            output_bytes=max(1024, min(self.output_bytes, ceiling.output_bytes)),
            file_bytes=max(0, min(self.file_bytes, ceiling.file_bytes)),
        )
