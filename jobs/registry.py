"""The kinds of long job: each app registers its own from its AppConfig.ready() (layers: exports, dues: the
reassessment), as it registers layers or sheet sections.

    register(JobKind("layers.export", "خروجی لایه‌ها", "Layer export", run=run_export))

`run(job, progress)` does the work; `progress(done, total, message="")` records how far it has come (at most once a
second, in its own short transaction, so the page sees it while the job's own work is in a long transaction) and
raises Cancelled when someone asked to stop. It writes its file under `result_dir(job)` and returns an Outcome
naming it (or None). A JobError's message is shown to the user; any other exception is logged and the user gets a
generic message.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common.i18n import is_persian


class JobError(Exception):
    """An expected failure of a job (bad input found late, no tariff book...): its message is for people."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = str(message)


class Cancelled(Exception):
    """Raised by progress() when a cancel was requested: the job stops, its partial result is removed."""


@dataclass(frozen=True)
class Outcome:
    path: Path | None = None  # the result file (under result_dir(job))
    name: str = ""  # the name the download gets
    content_type: str = "application/octet-stream"
    message: str = ""  # a last word for people ("20,000 parcels assessed")


Progress = Callable[..., None]


@dataclass(frozen=True)
class JobKind:
    code: str
    title_fa: str
    title_en: str
    run: Callable[..., Outcome | None]
    permission: str | None = None  # needed to start it (app_label.codename); None: the start view checks
    queue: str = "jobs"
    # called with (request, job) before the result file is handed out: checks again that the person downloading may
    # see what it holds (raise an ApiError to refuse) and records the access where the result holds personal data
    on_result: Callable[..., None] | None = None

    @property
    def title(self) -> str:
        return self.title_fa if is_persian() else self.title_en


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    if kind.code in KINDS and KINDS[kind.code] != kind:
        raise ValueError(f"job kind {kind.code!r} is registered twice")
    KINDS[kind.code] = kind
    return kind


def get(code: str) -> JobKind:
    try:
        return KINDS[code]
    except KeyError:
        raise JobError(f"unknown job kind {code!r}") from None
