"""kill -9 in the middle of the three long writes: a 100,000-row import, a city-wide assessment and an export. Each
kill is timed by watching the work's own progress (never by a guessed sleep): the import's COPY batches in
pg_stat_progress_copy, the assessment's chunk in the statement its worker runs, the export's file growing. Afterwards
nothing partial is left (the import and the assessment are one transaction each; the export is written under a
temporary name and renamed only when complete) and a rerun completes, compared with the source or a clean run."""

import re
import time
from pathlib import Path

import pyogrio
import pytest

from tests.faults.conftest import GRID_ROWS, import_command, kill9, processes_mentioning, wait_for

pytestmark = pytest.mark.faults

SCHEMA = ("SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
          "UNION ALL SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass ORDER BY 1")


def file_areas(grid: Path) -> dict[str, float]:
    frame = pyogrio.read_dataframe(grid, columns=["source_id"])
    return dict(zip(frame["source_id"], frame.geometry.area.round(2)))


def test_import_killed_mid_way_leaves_nothing_and_a_rerun_completes(scratch, grid_file, tmp_path):
    scratch.sql("TRUNCATE parcels_parcel CASCADE")
    runs_before = scratch.one("SELECT count(*) FROM parcels_importrun")
    schema_before = scratch.sql(SCHEMA, ["parcels_parcel"] * 2)

    started = time.monotonic()
    proc = scratch.popen(*import_command(grid_file), log=tmp_path / "import.log")
    # Watch the import's COPY into parcels_parcel: a new COPY (a new batch of 25,000 rows) shows as a new row or a
    # smaller tuple count. Kill once the second batch is being copied: 25,000+ rows written, uncommitted.
    batches, last, copied = 0, None, 0
    with scratch.connect() as conn:
        while batches < 2 or copied == 0:
            assert proc.poll() is None, f"the import ended before the kill: {(tmp_path / 'import.log').read_text()}"
            assert time.monotonic() - started < 120, "no second COPY batch seen in two minutes"
            row = conn.execute("SELECT pid, tuples_processed FROM pg_stat_progress_copy "
                               "WHERE relid = 'parcels_parcel'::regclass").fetchone()
            if row is not None:
                if last is None or row[1] < last[1]:  # a COPY appeared, or a new one began
                    batches += 1
                copied = row[1]
            last = row
            time.sleep(0.005)
    kill9(proc)
    killed_after = time.monotonic() - started
    scratch.wait_idle("parcels_parcel")

    assert scratch.one("SELECT count(*) FROM parcels_parcel") == 0  # all or nothing
    assert scratch.one("SELECT count(*) FROM parcels_importrun") == runs_before
    # the bulk path drops the table's indexes and constraints while it loads: they are all back (transactional DDL)
    assert scratch.sql(SCHEMA, ["parcels_parcel"] * 2) == schema_before

    t0 = time.monotonic()
    result = scratch.manage(*import_command(grid_file))
    rerun = time.monotonic() - t0
    assert f"inserted {GRID_ROWS}" in result.stdout, result.stdout
    assert scratch.one("SELECT count(*) FROM parcels_importrun WHERE committed") == runs_before + 1
    stored = dict(scratch.sql("SELECT source_id, round(ST_Area(geom)::numeric, 2)::float8 FROM parcels_parcel"))
    assert stored == file_areas(grid_file)  # every row of the file, once, with its geometry
    print(f"import of {GRID_ROWS:,} rows: killed after {killed_after:.1f} s in batch {batches} "
          f"({copied:,} rows of it copied); the rerun took {rerun:.1f} s")


def _assessment_sums(scratch):
    return scratch.sql("SELECT count(*), sum(amount), md5(string_agg(p.source_id || ':' || a.amount || ':' "
                       "|| a.facts::text, ',' ORDER BY p.source_id)) FROM dues_assessment a "
                       "JOIN parcels_parcel p ON p.id = a.parcel_id WHERE a.year = 1404 AND a.is_current")[0]


def test_assessment_killed_mid_way_leaves_nothing_and_the_retried_job_completes(parcels_loaded, tmp_path):
    scratch = parcels_loaded
    scratch.sql("DELETE FROM dues_assessment; DELETE FROM dues_assessmentrun")
    first_id = scratch.one("SELECT min(id) FROM parcels_parcel")
    job = scratch.start_job("dues.assess_year", {"year": 1404})
    started = time.monotonic()
    worker = scratch.worker(tmp_path / "worker-a.log")
    # The assessment writes 50,000 parcels per statement in one transaction; kill while its worker runs the second
    # chunk (the first chunk's rows written, uncommitted), read from the statement the worker's backend runs.
    chunk = re.compile(r"p\.id >= (\d+)")

    def second_chunk():
        assert worker.poll() is None, (tmp_path / "worker-a.log").read_text()
        for (query,) in scratch.sql("SELECT query FROM pg_stat_activity WHERE state = 'active' "
                                    "AND query LIKE %s", ["%dues_assessment%"]):
            bounds = [int(x) for x in chunk.findall(query)]
            if bounds and min(bounds) > first_id:
                return True
        return False

    wait_for(second_chunk, 120, "the assessment's second chunk", interval=0.02)
    progress = scratch.one("SELECT progress FROM jobs_job WHERE id = %s", [job])
    kill9(worker)
    killed_after = time.monotonic() - started
    scratch.wait_idle("dues_assessment")
    assert scratch.one("SELECT count(*) FROM dues_assessment") == 0
    assert scratch.one("SELECT count(*) FROM dues_assessmentrun") == 0
    status, result = scratch.sql("SELECT status, result_path FROM jobs_job WHERE id = %s", [job])[0]
    assert status == "running" and result == ""  # nothing to download

    worker = scratch.worker(tmp_path / "worker-b.log")  # its stall check retries the dead worker's job
    try:
        wait_for(lambda: scratch.one("SELECT status FROM jobs_job WHERE id = %s", [job]) not in ("queued", "running"),
                 120, "the retried assessment")
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    status, attempts, error = scratch.sql("SELECT status, attempts, error FROM jobs_job WHERE id = %s", [job])[0]
    assert (status, attempts, error) == ("done", 2, "")
    assert scratch.one("SELECT count(*) FROM dues_assessmentrun") == 1
    after_retry = _assessment_sums(scratch)
    assert after_retry[0] == GRID_ROWS
    # a clean run over the same parcels and book finds every assessment the retried job wrote already right
    clean = scratch.manage("assess_year", "1404")
    assert f"0 new, 0 reassessed, {GRID_ROWS} unchanged" in clean.stdout, clean.stdout
    assert _assessment_sums(scratch) == after_retry
    print(f"assessment of {GRID_ROWS:,} parcels: worker killed after {killed_after:.1f} s "
          f"(job progress {progress:.2f}); retried and done")


def test_export_killed_mid_way_serves_no_half_file_and_the_retried_job_completes(parcels_loaded, tmp_path):
    scratch = parcels_loaded
    job = scratch.start_job("layers.export", {"layers": ["parcels"], "format": "gpkg", "srid": None,
                                              "district": None, "bbox": None, "filters": {}})
    result_dir = scratch.var_dir / "jobs" / job
    started = time.monotonic()
    worker = scratch.worker(tmp_path / "worker-a.log")

    def half_written():  # ogr2ogr is writing the GeoPackage in the job's temporary directory
        assert worker.poll() is None, (tmp_path / "worker-a.log").read_text()
        return any(p.stat().st_size > 2_000_000 for p in result_dir.glob("export-*/out.gpkg*"))

    wait_for(half_written, 120, "the export's file to grow past 2 MB", interval=0.02)
    assert processes_mentioning(str(result_dir)), "ogr2ogr should be writing when the worker is killed"
    kill9(worker)
    killed_after = time.monotonic() - started
    # the worker's ogr2ogr dies with it (PR_SET_PDEATHSIG), instead of writing on as an orphan
    wait_for(lambda: not processes_mentioning(str(result_dir)), 5, "the orphaned ogr2ogr to end")
    status, result = scratch.sql("SELECT status, result_path FROM jobs_job WHERE id = %s", [job])[0]
    assert status == "running" and result == ""  # /api/jobs/<id>/result answers 404: no half file is served
    assert not list(result_dir.glob("*.gpkg"))  # the partial file is only under its temporary name

    worker = scratch.worker(tmp_path / "worker-b.log")
    try:
        wait_for(lambda: scratch.one("SELECT status FROM jobs_job WHERE id = %s", [job]) not in ("queued", "running"),
                 120, "the retried export")
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    status, attempts, result = scratch.sql("SELECT status, attempts, result_path FROM jobs_job WHERE id = %s", [job])[0]
    assert (status, attempts) == ("done", 2)
    assert [p.name for p in result_dir.iterdir()] == [Path(result).name]  # no temporary directory left over
    frame = pyogrio.read_dataframe(result, layer="parcels", columns=[])
    assert len(frame) == GRID_ROWS
    area = scratch.one("SELECT sum(ST_Area(geom)) FROM parcels_parcel")
    assert frame.geometry.area.sum() == pytest.approx(area, rel=1e-9)
    print(f"export of {GRID_ROWS:,} parcels: worker killed after {killed_after:.1f} s; retried and complete")
