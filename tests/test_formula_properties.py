"""The formula language's two evaluations agree on any formula, not only on the demo books: Hypothesis writes random
formulas over the parcel facts (every operator of the language: + - * /, unary minus, min/max, comparisons,
and/or/not, conditional expressions, text equality on land use), and each is evaluated for real demo parcels both in
Python (Formula.evaluate over dues.facts.for_parcel) and in PostgreSQL (Formula.to_sql over the same facts query the
city-wide assessment runs). Rounded to the rial as a bill line is, the two must be equal, and a division by zero must
stop both."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import DataError, connection, transaction
from hypothesis import HealthCheck, given, settings, strategies as st

from dues import facts
from dues.formulas import Formula, FormulaError

pytestmark = pytest.mark.django_db

NUMBERS = st.sampled_from(["0", "1", "2", "3", "7", "10", "100", "0.5", "1.25", "2.5", "1000", "0.001"])


def formulas(numeric_facts: list[str], land_uses: list[str]):
    """Formula texts, fully parenthesised, of up to ~15 leaves."""
    leaf = st.one_of(st.sampled_from(numeric_facts), NUMBERS)

    def extend(inner):
        def binop(op):
            return st.tuples(inner, inner).map(lambda t: f"({t[0]} {op} {t[1]})")

        compare = st.tuples(inner, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})")
        land_use = st.tuples(st.sampled_from(["==", "!="]), st.sampled_from(land_uses)).map(
            lambda t: f'(land_use {t[0]} "{t[1]}")')
        condition = st.one_of(compare, land_use, inner)  # any number is a condition too (non-zero is true)
        boolean = st.one_of(
            condition,
            st.tuples(condition, st.sampled_from(["and", "or"]), condition).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            condition.map(lambda c: f"(not {c})"))
        return st.one_of(
            binop("+"), binop("-"), binop("*"), binop("/"), boolean,
            inner.map(lambda a: f"(-{a})"),
            st.tuples(st.sampled_from(["min", "max"]), st.lists(inner, min_size=2, max_size=3)).map(
                lambda t: f"{t[0]}({', '.join(t[1])})"),
            st.tuples(inner, boolean, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        )

    return st.recursive(leaf, extend, max_leaves=15)


def rial(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_python_and_postgresql_agree_on_random_formulas(demo_city):
    names = facts.fact_names()
    numeric = sorted(n for n in names if n not in facts.TEXT_FACTS)
    with connection.cursor() as cursor:  # parcels of every land use, with and without buildings
        cursor.execute("SELECT DISTINCT ON (land_use_id, b.parcel_id IS NULL) p.id FROM parcels_parcel p "
                       "LEFT JOIN parcels_building b ON b.parcel_id = p.id ORDER BY land_use_id, b.parcel_id IS NULL, p.id")
        parcel_ids = [row[0] for row in cursor.fetchall()][:12]
        cursor.execute("SELECT DISTINCT land_use_id FROM parcels_parcel WHERE land_use_id IS NOT NULL")
        land_uses = sorted(row[0] for row in cursor.fetchall()) + ["no_such_use"]
    assert len(parcel_ids) >= 4
    python_facts = {pid: facts.for_parcel(pid, names, {}) for pid in parcel_ids}
    query = facts.facts_query(names, {}, "WHERE p.id = ANY(%(ids)s)")
    columns = {n: f"f.{n}" for n in names}
    checked = []

    @settings(max_examples=200, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(formulas(numeric, land_uses))
    def agree(text):
        formula = Formula(text, names)
        expected = {}
        for pid in parcel_ids:
            try:
                expected[pid] = rial(formula.evaluate(python_facts[pid]))
            except FormulaError:
                expected[pid] = "division by zero"
        sql = f"SELECT f.parcel_id, round({formula.to_sql(columns)}) FROM ({query}) f"
        got = {}
        for pid in parcel_ids:  # one parcel a statement: a division by zero stops only that parcel's evaluation
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql + " WHERE f.parcel_id = %(id)s", {"ids": parcel_ids, "id": pid})
                    got[pid] = int(cursor.fetchone()[1])
            except DataError as exc:
                assert "division by zero" in str(exc), exc
                got[pid] = "division by zero"
        assert got == expected, text
        checked.append(text)

    agree()
    assert len(checked) >= 200
    # the generator reached every part of the language
    joined = " ".join(checked)
    for part in (" / ", " * ", " - ", " + ", "min(", "max(", "not ", " and ", " or ", " if ", "land_use ==", "(-"):
        assert part in joined, part
