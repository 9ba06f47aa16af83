"""manage.py work_all: the job workers of several municipalities in one process (README, "Many municipalities").

Each municipality's database has its own job queue, and `MUNICIPALITY=<slug> manage.py procrastinate worker` works
one of them: a process per municipality, which is too many for a province's hundred small towns. This command runs a
procrastinate worker for each municipality (every one, or those of --only) as asyncio tasks of one process: each
task makes its municipality current in its own context (common.municipality: contextvars, which asyncio copies into
each task and procrastinate's thread for a synchronous job), opens a worker connector on that municipality's
database (LISTEN/NOTIFY, heartbeats, its periodic jobs) and runs its jobs there. SIGTERM or SIGINT stops every worker
gracefully (running jobs get --shutdown-graceful-timeout seconds). A worker that fails stops the others and the
command exits non-zero, so a supervisor (systemd) restarts the whole. Jobs of two municipalities run side by side up
to --concurrency each; a big city is better served by a process of its own."""

import asyncio
import signal

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common import municipality
from common.commands import BaseCommand


class Command(BaseCommand):
    help = "Run the job workers of every municipality (or --only some) in this one process."

    def add_arguments(self, parser):
        parser.add_argument("--only", nargs="+", metavar="SLUG", help="only these municipalities")
        parser.add_argument("--concurrency", type=int, default=1, help="jobs at once per municipality (default 1)")
        parser.add_argument("--queues", help="comma-separated queues (default: every queue)")
        parser.add_argument("--one-shot", action="store_true",
                            help="run the jobs waiting in every queue, then exit (maintenance, tests)")
        parser.add_argument("--shutdown-graceful-timeout", type=float, default=30.0,
                            help="seconds running jobs get to finish after SIGTERM (default 30)")

    def handle(self, *args, **opts):
        slugs = opts["only"] or list(municipality.registry())
        for slug in slugs:
            try:
                municipality.get(slug)
            except municipality.UnknownMunicipality as exc:
                raise CommandError(str(exc)) from None
        if opts["concurrency"] < 1:
            raise CommandError(_("--concurrency must be at least 1"))
        self.stdout.write(_("Job workers for %(slugs)s in one process.") % {"slugs": ", ".join(slugs)})
        failed = asyncio.run(self.run_all(slugs, opts))
        if failed:
            raise CommandError(_("The job worker of %(slugs)s failed: %(errors)s")
                               % {"slugs": ", ".join(failed), "errors": "; ".join(failed.values())})

    async def run_all(self, slugs: list[str], opts) -> dict[str, str]:
        workers: dict[str, object] = {}
        loop = asyncio.get_running_loop()

        def stop_all(*_args):
            for worker in workers.values():
                worker.stop()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop_all)
        pending = {asyncio.create_task(self.run_one(slug, opts, workers), name=f"worker-{slug}") for slug in slugs}
        failed: dict[str, str] = {}
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is not None:
                    failed[task.get_name().removeprefix("worker-")] = repr(task.exception())
            if failed:
                stop_all()  # one failed: the others stop too, and the supervisor restarts the process
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        return failed

    async def run_one(self, slug: str, opts, workers: dict) -> None:
        from procrastinate import worker as procrastinate_worker
        from procrastinate.contrib.django import app

        municipality.set_current(slug)  # this task's own context: its connector, its jobs' threads
        worker_app = app.with_connector(app.connector.get_worker_connector())  # on this municipality's database
        async with worker_app.open_async():
            options = {**worker_app.worker_defaults, "concurrency": opts["concurrency"], "wait": not opts["one_shot"],
                       "name": f"worker-{slug}", "install_signal_handlers": False,
                       "shutdown_graceful_timeout": opts["shutdown_graceful_timeout"]}
            if opts["queues"]:
                options["queues"] = [q.strip() for q in opts["queues"].split(",") if q.strip()]
            worker_app.perform_import_paths()
            worker = procrastinate_worker.Worker(app=worker_app, **options)
            workers[slug] = worker
            await worker.run()
