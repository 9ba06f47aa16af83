"""The import's exceptions, in a module of their own so every part of the package can raise them."""


class ImportError_(Exception):
    """The file cannot be imported at all (unreadable, no CRS, unknown field …). Nothing was written."""


class ImportAborted(Exception):
    """A commit was refused because rows have problems; nothing was written. Carries the report (ImportReport)."""

    def __init__(self, report):
        self.report = report
        super().__init__(report.abort_reason)


class MergeRefused(Exception):
    """`--duplicates merge` made a geometry that fails the checks every imported geometry passes: (key, why) pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{key}: {why}" for key, why in problems))
