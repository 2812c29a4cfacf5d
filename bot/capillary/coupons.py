"""`GET /v2/customers/{customerId}/coupons`: one customer's coupons."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from bot.capillary.envelope import (
    ApiErrors,
    dict_of,
    error_for_failure,
    error_from_codes,
    json_object,
    list_of,
    mentions,
    read_body,
)
from bot.capillary.http import CapillaryHttp
from bot.domain.coupon import CodeCase, Coupon, CouponSeries, Location, Model, SeriesSummary, Timestamp
from bot.domain.errors import CapillaryReportedError


@dataclass(frozen=True)
class FetchResult:
    coupons: tuple[Coupon, ...]
    attempts: int
    upstream_ms: int
    # The series' full terms, read from the same bytes when an agent opens one; None: the coupons carry them.
    series: Mapping[int, CouponSeries] | None = None
    body: bytes = b""  # the answer as Capillary sent it (decompressed): what the cache keeps
    skipped: int = 0  # coupons in the answer that could not be read (and are not shown)


# A series object is a few kilobytes; one that goes on past this is not read alone.
MAX_SERIES_BYTES = 256 * 1024
_ONE_VALUE = json.JSONDecoder()


# A key Capillary never sends: a field read from it keeps its default.
_NOT_READ = "\0not read"


class ListedCoupon(Coupon):
    """A coupon as a lookup's list reads it: everything a line of the message shows, its series in brief. Where
    and when it was issued shows only for a coupon in focus (`FocusedCoupon`); reading that for every coupon
    costs about a tenth of a 1,000-coupon lookup, so a list leaves it unread (None)."""

    series: SeriesSummary | None = None  # type: ignore[assignment]  # a CouponSeries is a SeriesSummary
    issued_at: Location | None = Field(default=None, validation_alias=_NOT_READ)
    issued_on: Timestamp | None = Field(default=None, validation_alias=_NOT_READ)
    issued_on_iso: Timestamp | None = Field(default=None, validation_alias=_NOT_READ)


class FocusedCoupon(ListedCoupon):
    """A coupon as a lookup with a coupon in focus (`code:`) reads it: the list's fields and where and when each
    coupon was issued."""

    issued_at: Location | None = None
    issued_on: Timestamp | None = None
    issued_on_iso: Timestamp | None = Field(default=None, alias="issuedOnISO")


class _RawPage(Model):
    """The envelope, `{"entity": [...], "warnings": [], "errors": [], "success": true}`, with each coupon left as
    parsed JSON, to read them one by one."""

    entity: list[Any] | None = None
    errors: ApiErrors = None
    success: bool | None = None


class CouponsPage(_RawPage):
    """The envelope as a lookup reads it (`parse_coupons`): of each coupon only what the bot shows, about half the
    work of reading every field."""

    entity: list[ListedCoupon] | None = None


class FocusedCouponsPage(_RawPage):
    """`CouponsPage` for a lookup with a coupon in focus."""

    entity: list[FocusedCoupon] | None = None


@dataclass(frozen=True)
class ReadPage:
    """The envelope as read: the coupons that could be read, and how many could not."""

    entity: tuple[Coupon, ...]
    errors: ApiErrors = None
    success: bool | None = None
    skipped: int = 0


# What parsing makes of an answer (tracemalloc, Python 3.11): about 1.8 KB a coupon however small it is, and about
# 0.4 bytes per byte of the body beyond that (series terms, dates): 100,000 coupons of 115 bytes → 182 MB (16× the
# body); 10,000 of 3.4 KB → 30 MB (0.9×).
BYTES_PER_PARSED_COUPON = 1_800


def parsed_bytes(coupons: int, body_bytes: int) -> int:
    """About how much memory `parse_coupons` makes of `body_bytes` holding `coupons` coupons."""
    return coupons * BYTES_PER_PARSED_COUPON + body_bytes // 2


def parse_coupons(content: bytes, *, focused: bool = False) -> ReadPage:
    """The response bytes → the envelope, reading of each coupon only what the bot shows (`focused`: and where
    and when it was issued, which a coupon in focus shows). A coupon that can't be read (no `id`, a date that
    isn't one) is skipped and counted, so it doesn't hide the others. Raises `ValidationError` when the bytes are
    not JSON, the envelope has the wrong shape, or no coupon at all could be read."""
    page_model: type[CouponsPage | FocusedCouponsPage] = FocusedCouponsPage if focused else CouponsPage
    coupon_model = FocusedCoupon if focused else ListedCoupon
    runs = _coupon_runs(content)
    if runs:
        try:
            return _in_pieces(content, runs, page_model, coupon_model)
        except ValidationError:
            pass  # a piece cut where it should not be, or a coupon that can't be read: read the whole below
    try:
        page = page_model.model_validate_json(content)  # one pass in pydantic's Rust parser
    except ValidationError:
        salvaged = _one_by_one(content, coupon_model)
        if salvaged is None:  # nothing to show: the answer as a whole is unreadable
            raise  # (bare: an error kept in a local here would hold this frame, and `content`, in a cycle)
        return salvaged
    return ReadPage(tuple(page.entity or ()), page.errors, page.success)


# Pydantic reads JSON into a tree of its own before it builds a single object: for a large answer that tree is
# about twice the body, on top of the coupons, and the process keeps the memory. So an answer is read a piece
# of about this many bytes at a time, each piece a run of whole coupons.
PIECE_BYTES = 256 * 1024
# The coupons' list, first in the envelope as Capillary sends it (else the answer is read whole).
_COUPONS_FIRST = re.compile(rb'\s*\{\s*"entity"\s*:\s*\[')
# Where one coupon of the list ends and the next begins (a coupon's first key is its `id`). Inside a string a
# quote is escaped, so this never matches there; the same shape in a nested list is told apart by the lists
# still open, and if anything is still cut wrong, a piece doesn't read and the whole is read.
_NEXT_COUPON = re.compile(rb'\}\s*,\s*(?=\{\s*"id"\s*:)')


def _in_pieces(
    content: bytes, runs: list[tuple[int, int]], page_model: type[_RawPage], coupon_model: type[Coupon]
) -> ReadPage:
    """`content` read a run of coupons at a time, the last with the envelope's end; raises `ValidationError` if
    any piece doesn't read (a run that is not a list of coupons alone doesn't)."""
    coupons: list[Coupon] = []
    for start, end in runs[:-1]:
        coupons += _list_of(coupon_model).validate_json(b"[" + content[start:end] + b"]")
    last = page_model.model_validate_json(b'{"entity":[' + content[runs[-1][0] :])
    coupons += last.entity or ()
    return ReadPage(tuple(coupons), last.errors, last.success)


@functools.cache
def _list_of(coupon_model: type[Coupon]) -> TypeAdapter[list[Coupon]]:
    return TypeAdapter(list[coupon_model])  # type: ignore[valid-type]  # the class is a value here, as intended


def _coupon_runs(content: bytes) -> list[tuple[int, int]]:
    """Where each run of about `PIECE_BYTES` of whole coupons starts and ends (the last runs to the end of
    `content`); none when the answer is to be read whole. Each byte is counted once."""
    opening = _COUPONS_FIRST.match(content)
    if opening is None:
        return []
    runs, start = [], opening.end()
    depth, counted, position = 0, start, start + PIECE_BYTES  # depth: lists open inside the coupons' list
    while position < len(content) - PIECE_BYTES // 2:
        match = _NEXT_COUPON.search(content, position)
        if match is None:
            break
        end = match.start() + 1
        depth += content.count(b"[", counted, end) - content.count(b"]", counted, end)
        counted = end
        if depth < 0:  # the coupons' list has closed: what follows is not coupons
            break
        if depth == 0:
            runs.append((start, end))
            start, position = match.end(), match.end() + PIECE_BYTES
        else:
            position = match.end()  # inside a coupon (its list of redemptions): the next candidate
    return [*runs, (start, len(content))] if runs else []


def _one_by_one(content: bytes, coupon_model: type[Coupon]) -> ReadPage | None:
    """The coupons that can be read, each on its own; None when the envelope or every coupon can't be."""
    try:
        raw = _RawPage.model_validate_json(content)
    except ValidationError:
        return None
    coupons: list[Coupon] = []
    for item in raw.entity or ():
        try:
            coupons.append(coupon_model.model_validate(item))
        except ValidationError:
            continue
    if not coupons:
        return None
    return ReadPage(tuple(coupons), raw.errors, raw.success, skipped=len(raw.entity or ()) - len(coupons))


class _SeriesOfCoupon(TypedDict, total=False):
    series: CouponSeries | None


class _SeriesOfCoupons(TypedDict, total=False):
    entity: list[_SeriesOfCoupon] | None


_SERIES_ONLY = TypeAdapter(_SeriesOfCoupons)


class SeriesCatalog(Mapping[int, CouponSeries]):
    """The series of one response by id, read from the response bytes when asked for (an agent opening "Series
    details"), then kept. One series is looked for on its own first: the embedded series object that starts
    with its `id` is found in the bytes and only it is read; failing that, every series is read in one pass.
    Thread-safe: a race only reads twice."""

    def __init__(self, content: bytes) -> None:
        self._content = content
        self._series: dict[int, CouponSeries] | None = None
        self._one: dict[int, CouponSeries] = {}

    def _all(self) -> dict[int, CouponSeries]:
        if self._series is None:
            self._series = _read_series(self._content)
        return self._series

    def __getitem__(self, series_id: int) -> CouponSeries:
        if self._series is None:
            found = self._one.get(series_id) or _read_one_series(self._content, series_id)
            if found is not None:
                self._one[series_id] = found
                return found
        return self._all()[series_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _read_one_series(content: bytes, series_id: int) -> CouponSeries | None:
    """The first embedded `"series": {"id": <series_id>, …}` object, read alone; None when it isn't found in
    that shape or doesn't read (the caller then reads every series)."""
    match = re.search(rb'"series"\s*:\s*(\{)\s*"id"\s*:\s*%d\s*[,}]' % series_id, content)
    if match is None:
        return None
    # The decoder reads one value and stops where it ends; the window's last character may be cut in two.
    window = content[match.start(1) : match.start(1) + MAX_SERIES_BYTES].decode("utf-8", "ignore")
    try:
        series = CouponSeries.model_validate(_ONE_VALUE.raw_decode(window)[0])
    except ValueError:  # not JSON within the window (json.JSONDecodeError), or not a series (ValidationError)
        return None
    return series if series.id == series_id else None


def _read_series(content: bytes) -> dict[int, CouponSeries]:
    found: dict[int, CouponSeries] = {}
    try:
        entries = _SERIES_ONLY.validate_json(content).get("entity") or []
        for entry in entries:
            series = entry.get("series")
            if series is not None:
                found.setdefault(series.id, series)
        return found
    except ValidationError:
        pass
    # One odd series must not hide the others' terms: read them one by one.
    for coupon in list_of(json_object(content).get("entity")):
        raw = dict_of(coupon).get("series")
        if not isinstance(raw, dict):
            continue
        try:
            series = CouponSeries.model_validate(raw)
        except ValidationError:
            continue
        found.setdefault(series.id, series)
    return found


def fetch_coupons(http: CapillaryHttp, customer_id: int, case: CodeCase, *, focused: bool = False) -> FetchResult:
    def read_answer(status: int, headers: httpx.Headers, content: bytes) -> tuple[ReadPage, bytes]:
        return read_response(status, headers, content, focused=focused), content

    fetched = http.get(f"v2/customers/{customer_id}/coupons", {"coupon_code_case": case.value}, read_answer)
    page, body = fetched.value
    return FetchResult(
        page.entity, fetched.attempts, fetched.upstream_ms, SeriesCatalog(body), body, skipped=page.skipped
    )


def read_response(status: int, headers: httpx.Headers, content: bytes, *, focused: bool = False) -> ReadPage:
    """Turn one HTTP answer into coupons or one of our errors. Always reads `errors`, whatever the status."""
    if 200 <= status < 300:
        envelope = read_body(status, headers, content, functools.partial(parse_coupons, focused=focused))
        if envelope.errors:
            raise error_from_codes(status, envelope.errors)
        if envelope.success is False:
            raise CapillaryReportedError("Capillary reported a failure without details", status=status)
        return envelope
    if status == 404 and mentions(content, "NO_COUPONS_FOUND"):
        return ReadPage(())
    raise error_for_failure(status, content)
