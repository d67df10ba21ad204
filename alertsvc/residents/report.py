"""What an import did: counts, and the rejected rows with their line, field and reason.

Only the first :data:`MAX_ERRORS` problems are kept (with the total still counted), so a 100,000-row file that
is wrong on every line costs a bounded amount of memory and a readable answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_ERRORS", "ImportReport", "RejectedRow"]

MAX_ERRORS = 1000


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """One problem of a rejected row; ``field`` is a column name, or ``"row"`` for the row as a whole."""

    line: int
    field: str
    reason: str


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    rejected_rows: int = 0
    """Rows refused (a row with three problems counts once here and appears three times in ``rejected``)."""
    rejected: list[RejectedRow] = field(default_factory=list)
    errors_truncated: bool = False
    max_errors: int = MAX_ERRORS

    def reject(self, line: int, problems: list[tuple[str, str]]) -> None:
        """Count one refused row and keep its problems while there is room."""
        self.rejected_rows += 1
        for field_name, reason in problems:
            if len(self.rejected) < self.max_errors:
                self.rejected.append(RejectedRow(line, field_name, reason))
            else:
                self.errors_truncated = True

    def summary(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.rejected_rows} rejected"
        if self.errors_truncated:
            text += f" (first {len(self.rejected)} problems listed)"
        return text

    def as_dict(self) -> dict[str, Any]:
        """The report in the API's shape (DESIGN.md): ``loc`` names the field, as in every problem document."""
        return {
            "created": self.created,
            "updated": self.updated,
            "rejected": self.rejected_rows,
            "errors": [
                {"line": item.line, "loc": [] if item.field == "row" else [item.field], "msg": item.reason}
                for item in self.rejected
            ],
            "errors_truncated": self.errors_truncated,
        }
