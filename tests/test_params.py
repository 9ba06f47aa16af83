"""common.params: every request parameter read one way, with a 400 naming the parameter (no database needed)."""

import datetime

import pytest
from django.http import QueryDict
from django.utils import translation

from common import params
from common.errors import BadParameter


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):  # the messages asserted below are the English msgids
        yield


def q(text: str) -> QueryDict:
    return QueryDict(text)


def refused(match, fn, *args, **kwargs):
    with pytest.raises(BadParameter, match=match) as info:
        fn(*args, **kwargs)
    assert info.value.status == 400 and info.value.code == "bad_parameter"
    return info.value.message


def test_integer():
    assert params.integer(q("n=42"), "n") == 42
    assert params.integer(q("n=-7"), "n") == -7
    assert params.integer(q("n=۱۲"), "n") == 12 and params.integer(q("n=١٢"), "n") == 12
    assert params.integer(q("n= 5 "), "n") == 5
    assert params.integer(q(""), "n") is None and params.integer(q("n="), "n", default=3) == 3
    assert params.integer({"n": 9}, "n") == 9 and params.integer({"n": 9.0}, "n") == 9
    for bad in ("ten", "1.5", "1_000", "0x10", "", "1e3"):
        if bad:
            refused("n '.*' must be a whole number", params.integer, {"n": bad}, "n")
    refused("must be a whole number", params.integer, {"n": True}, "n")
    refused("must be a whole number", params.integer, {"n": 1.5}, "n")
    assert "n is required" == refused("is required", params.integer, q(""), "n", required=True)
    refused("n must be between 1 and 10", params.integer, q("n=0"), "n", min=1, max=10)
    refused("n must be between 1 and 10", params.integer, q("n=11"), "n", min=1, max=10)
    refused("n must be at least 0", params.integer, q("n=-1"), "n", min=0)
    refused("n must be at most 5", params.integer, q("n=6"), "n", max=5)
    assert params.integer(q("n=10"), "n", min=1, max=10) == 10


def test_number():
    assert params.number(q("x=54.55"), "x") == 54.55
    assert params.number(q("x=۵۴٫۵"), "x") == 54.5  # Persian digits and decimal separator
    assert params.number(q("x=-.5"), "x") == -0.5 and params.number(q("x=1e2"), "x") == 100
    assert params.number({"x": 3}, "x") == 3.0
    for bad in ("nan", "inf", "-Infinity", "1,5", "abc", "1e999"):
        refused("is not a number", params.number, {"x": bad}, "x")
    refused("lon must be between -180 and 180", params.number, q("lon=200"), "lon", min=-180, max=180)
    refused("lat must be between -90 and 90", params.number, q("lat=-90.5"), "lat", min=-90.0, max=90.0)
    refused("lon is required", params.number, q(""), "lon", required=True)


def test_dates_jalali_and_iso():
    assert params.date(q("d=1403/05/12"), "d") == datetime.date(2024, 8, 2)
    assert params.date(q("d=1403-05-12"), "d") == datetime.date(2024, 8, 2)
    assert params.date(q("d=۱۴۰۳/۰۵/۱۲"), "d") == datetime.date(2024, 8, 2)
    assert params.date(q("d=١٤٠٣/٥/١٢"), "d") == datetime.date(2024, 8, 2)
    assert params.date(q("d=2024-08-02"), "d") == datetime.date(2024, 8, 2)
    assert params.date(q("d=1403/12/30"), "d") == datetime.date(2025, 3, 20)  # 1403 is a leap year
    assert params.date(q(""), "d") is None
    assert params.date(q(""), "d", default=datetime.date(2020, 1, 1)) == datetime.date(2020, 1, 1)
    assert params.date({"d": datetime.date(2024, 1, 1)}, "d") == datetime.date(2024, 1, 1)
    for bad in ("1404/12/30", "1403/12/31", "1403/13/01", "1403/00/10"):  # 1404 is not a leap year
        refused("is not a valid Jalali date", params.date, {"d": bad}, "d")
    refused("is not a valid date", params.date, q("d=2023-02-29"), "d")
    for bad in ("yesterday", "12/05/1403", "2024-08-02T10:00", "14030512"):
        refused("is not a date: write it as 1403/05/12", params.date, {"d": bad}, "d")
    refused("d is required", params.date, q(""), "d", required=True)


def test_bbox():
    assert params.bbox(q("bbox=54.5,28.7,54.6,28.8")) == (54.5, 28.7, 54.6, 28.8)
    assert params.bbox(q("bbox=۵۴٫۵،۲۸٫۷،۵۴٫۶،۲۸٫۸")) == (54.5, 28.7, 54.6, 28.8)  # Persian digits and commas
    assert params.bbox({"box": [1, 2, 3, 4]}, "box") == (1.0, 2.0, 3.0, 4.0)
    assert params.bbox(q("")) is None
    refused("bbox is required: bbox=minlon,minlat,maxlon,maxlat", params.bbox, q(""), required=True)
    refused("must be four numbers", params.bbox, q("bbox=1,2,3"))
    refused("must be four numbers", params.bbox, q("bbox=a,b,c,d"))
    refused("must be four numbers", params.bbox, {"bbox": 5})
    refused("not a valid longitude/latitude box", params.bbox, q("bbox=10,10,5,5"))
    refused("not a valid longitude/latitude box", params.bbox, q("bbox=0,0,200,10"))
    # another CRS: only min below max
    assert params.bbox(q("bbox=700000,3100000,710000,3110000"), geographic=False) == (700000, 3100000, 710000,
                                                                                       3110000)
    refused("min must be below max", params.bbox, q("bbox=710000,3100000,700000,3110000"), geographic=False)


def test_id_list():
    assert params.id_list(q("ids=3,5,8"), "ids") == [3, 5, 8]
    assert params.id_list(q("ids=3&ids=5"), "ids") == [3, 5]
    assert params.id_list(q("ids=۳,۵,3"), "ids") == [3, 5]  # duplicates dropped, order kept
    assert params.id_list(q(""), "ids") == [] and params.id_list({"ids": [1, 2]}, "ids") == [1, 2]
    for bad in ("ids=3,x", "ids=0", "ids=-1", "ids=1,,2", f"ids={2**63}"):
        refused("ids must be ids separated by commas", params.id_list, q(bad), "ids")
    refused("ids names more than 2 ids", params.id_list, q("ids=1,2,3"), "ids", max_count=2)
    refused("longer than", params.id_list, q("ids=" + "1," * 30_000), "ids")


def test_text_and_choice():
    assert params.text(q("q=کوچه باغ"), "q") == "کوچه باغ"
    assert params.text(q(""), "q") == "" and params.text(q(""), "q", default="x") == "x"
    assert params.text(q("q=" + "x" * 200), "q") == "x" * 200
    assert refused("longer than", params.text, q("q=" + "x" * 201), "q") == "q is longer than 200 characters"
    refused("q is required", params.text, q("q=%20%20"), "q", required=True)
    refused("must be text", params.text, {"q": 5}, "q")
    assert params.choice(q("f=html"), "f", ("json", "html")) == "html"
    assert params.choice(q(""), "f", ("json", "html"), default="json") == "json"
    refused("f must be one of: json, html", params.choice, q("f=xml"), "f", ("json", "html"))
    refused("f must be one of", params.choice, {"f": ["json"]}, "f", ("json", "html"))


@pytest.mark.parametrize("fn, extra", [
    (params.integer, {}), (params.number, {}), (params.date, {}), (params.bbox, {}), (params.text, {}),
    (params.choice, {"choices": ("a",)}), (params.id_list, {}),
])
def test_nul_bytes_and_absurd_lengths_are_refused_before_parsing(fn, extra):
    refused("must not contain a NUL byte", fn, q("p=1%00"), "p", **extra)
    refused("is longer than", fn, {"p": "1" * 100_000}, "p", **extra)


def test_messages_follow_the_language():
    with translation.override("fa"):
        persian = refused("", params.integer, q("n=0"), "n", min=1, max=10)
    with translation.override("en"):
        english = refused("", params.integer, q("n=0"), "n", min=1, max=10)
    assert english == "n must be between 1 and 10"
    with translation.override("fa"):
        assert persian == translation.gettext("%(name)s must be between %(min)s and %(max)s") % {
            "name": "n", "min": "1", "max": "10"}
