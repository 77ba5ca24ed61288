"""Expression helpers shared by every source mapping: strings in, typed canonical values out.

Each ``parse_*`` helper returns the parsed expression; ``reject_if_unparsed`` builds the reason a
row is rejected when a present source value did not parse, so no reader drops a value silently.
"""

from __future__ import annotations

import json
from functools import partial

import polars as pl

from transforms.schema import MONEY, UTC_TS

NULL_STRINGS = ("", "NULL", "null", "None", "NaN", "nan")

# ISO 4217 active codes (plus a few widely used in billing exports).
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
    NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS
    VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()
)


def text(col: str | pl.Expr) -> pl.Expr:
    """A source column as trimmed text, with the null spellings exports use turned into null."""
    expr = pl.col(col) if isinstance(col, str) else col
    expr = expr.cast(pl.String).str.strip_chars()
    # not ``replace(NULL_STRINGS, None)``: faster on 100k-row batches, but each call plans a join that
    # costs ~3 s of CPU on a small Azure file (every column goes through here)
    return pl.when(expr.is_in(NULL_STRINGS)).then(None).otherwise(expr)


# Thousands separators. A ',' is read as one only where the value or its column leaves no doubt,
# because a decimal comma (``0,123``, ``1,234`` in a comma-decimal locale) would otherwise be read a
# thousand times too big. Every pattern allows a sign, then one currency symbol ("-€1,234.5").
_SIGNED = r"^[-+]?[$€£]?"
# Comma groups after a leading group of 1-3 digits not starting with 0: "1,234", "12,345,678.9".
_GROUPED = _SIGNED + r"[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$"
# Groups that cannot be a decimal comma: a '.' decimal after them, or two or more commas.
_UNAMBIGUOUS_GROUPED = _SIGNED + r"[1-9]\d{0,2}(?:(?:,\d{3})+\.\d+|(?:,\d{3}){2,})$"
# A plain amount behind a currency symbol: "$12.5", "-€3".
_SYMBOL_PLAIN = r"^[-+]?[$€£]\d+(?:\.\d+)?$"
# A '.' decimal that could not itself be a '.' thousands separator (as "1.234" or "12.345.678"
# could): shows that a column's decimal mark is '.'. One or two decimals or four and more, or three
# after nothing, a 0 or four and more digits ("0.5", "2.25", "0.123", "1234.567", "1.5E-7").
_DOT_DECIMAL = _SIGNED + r"(?:\d*\.(?:\d{1,2}|\d{4,})|(?:0|\d{4,})?\.\d{3})(?:[eE][-+]?\d+)?$"

DECIMAL_EXPECTED = "a decimal number"
DECIMAL_COMMA_EXPECTED = (
    "a decimal number with '.' as the decimal mark (',' is read as a thousands separator only where "
    "the column's values show that convention, as in 1,234.56)"
)


def parse_decimal(col: str | pl.Expr, dtype: pl.DataType = MONEY, *, column_evidence: bool = True) -> pl.Expr:
    """Exact decimal from text (``1.5``, ``-2E-7``, ``0.0000004``); null where it does not parse.

    Parsed from the text itself, never through a float, so the source's digits are kept. The
    decimal mark is '.'; a currency symbol is dropped (``$12.5``, ``-€3``). A ',' is read as a
    thousands separator only where that cannot be wrong:

    - the value itself shows it: a '.' decimal after the groups or two or more groups
      (``$10,000.00``, ``-€1,234.5``, ``1,000,000``);
    - or the column shows it: every value with a ',' in the column is shaped as groups
      (``1,234``, ``12,345.6``) and some value has a '.' decimal that could not itself be a '.'
      thousands separator (``1,234.50``, ``0.5``; not ``1.234``).

    Otherwise a value with a ',' (``0,123``, ``12,5``, or ``1,234`` with no other evidence) does
    not parse, and ``reject_if_unparsed`` rejects its row saying what was expected. "The column"
    is the column of the frame being mapped (one batch of a file), so the evidence is the file's
    own. None of the real exports in the project's samples declares a locale (the Azure cost
    details files are en-US style with no grouping), so no header setting is read.

    The column is looked at once, as a whole (a batch function: the text is computed once and
    the comma rules only run when some value has a ',' or a symbol). Inside ``list.eval``, where a
    batch function would run once per row, pass ``column_evidence=False``: each value is then
    read on its own evidence only.
    """
    if not column_evidence:
        return _decimal_from_text(text(col), dtype)
    return text(col).map_batches(partial(_parse_decimal_batch, dtype=dtype), return_dtype=dtype)


def _parse_decimal_batch(values: pl.Series, dtype: pl.DataType) -> pl.Series:
    """``parse_decimal`` on a whole column of trimmed text: the column's evidence, then each value."""
    special = values.str.contains(r"[,$€£]")
    if not special.any():
        return values.cast(dtype, strict=False)
    odd = values.filter(special)
    column_groups = bool(
        odd.filter(odd.str.contains(",", literal=True)).str.contains(_GROUPED).all()
        and (odd.str.contains(_UNAMBIGUOUS_GROUPED).any() or values.str.contains(_DOT_DECIMAL).any())
    )
    frame = pl.DataFrame({"v": values, "special": special})
    only_odd = pl.when(pl.col("special")).then(pl.col("v"))  # null elsewhere: the patterns skip it
    parsed = (
        pl.when(pl.col("special"))
        .then(_decimal_from_text(only_odd, dtype, column_groups))
        .otherwise(pl.col("v").cast(dtype, strict=False))
    )
    return frame.select(parsed).to_series().alias(values.name)


def _decimal_from_text(raw: pl.Expr, dtype: pl.DataType, column_groups: bool = False) -> pl.Expr:
    """Each value by the rule of ``parse_decimal``; ``column_groups``: the column shows ',' groups."""
    grouped = raw.str.contains(_GROUPED)
    evidence = pl.lit(True) if column_groups else raw.str.contains(_UNAMBIGUOUS_GROUPED)
    accepted = (grouped & evidence) | raw.str.contains(_SYMBOL_PLAIN)
    return pl.when(accepted).then(raw.str.replace_all(r"[$€£,]", "")).otherwise(raw).cast(dtype, strict=False)


def parse_int(col: str | pl.Expr, dtype: pl.DataType = pl.Int64) -> pl.Expr:
    """Integer from text (``"8"``, ``"8.0"``); null where it does not parse."""
    return text(col).cast(pl.Float64, strict=False).cast(dtype, strict=False)


def parse_float(col: str | pl.Expr) -> pl.Expr:
    return text(col).cast(pl.Float64, strict=False)


_TS_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%:z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%:z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%MZ",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S",
    "%m/%d/%y",
    "%m/%d/%Y",
)


def parse_timestamp(col: str | pl.Expr, formats: tuple[str, ...] = _TS_FORMATS) -> pl.Expr:
    """UTC timestamp from text with or without a zone (no zone means UTC); null where none fits.

    Values that are already datetimes (Parquet) are converted to UTC as they are.
    """
    raw = text(col)
    attempts = []
    for fmt in formats:
        if "%z" in fmt or "%:z" in fmt or fmt.endswith("Z"):
            zoned = "Z" in fmt and "%" not in fmt[-1:]
            parsed = (
                raw.str.strptime(pl.Datetime("us", "UTC"), fmt, strict=False, exact=True)
                if not zoned
                else (raw.str.strptime(pl.Datetime("us"), fmt, strict=False, exact=True).dt.replace_time_zone("UTC"))
            )
        else:
            parsed = raw.str.strptime(pl.Datetime("us"), fmt, strict=False, exact=True).dt.replace_time_zone("UTC")
        attempts.append(parsed.dt.convert_time_zone("UTC").cast(UTC_TS))
    return pl.coalesce(attempts)


def reject_if_unparsed(pairs: dict[str, tuple[pl.Expr, pl.Expr, str]]) -> pl.Expr:
    """The first reason a row fails: ``{column: (raw_text, parsed, expected)}``.

    A row fails on a column when its raw value is present but did not parse. Reasons read like
    ``column BilledCost: expected a decimal number, got 'abc'``.
    """
    reasons = [
        pl.when(raw.is_not_null() & parsed.is_null()).then(
            pl.format("column {}: expected {}, got '{}'", pl.lit(name), _expected(raw, expected), raw)
        )
        for name, (raw, parsed, expected) in pairs.items()
    ]
    return pl.coalesce(reasons) if reasons else pl.lit(None, dtype=pl.String)


def _expected(raw: pl.Expr, expected: str) -> pl.Expr:
    """What a value should have been; for a decimal with a ',' that ``parse_decimal`` refused, why."""
    if expected != DECIMAL_EXPECTED:
        return pl.lit(expected)
    return pl.when(raw.str.contains(",", literal=True)).then(pl.lit(DECIMAL_COMMA_EXPECTED)).otherwise(pl.lit(expected))


def reject_if_missing(columns: dict[str, pl.Expr]) -> pl.Expr:
    """The first required value that is null: ``{column: raw_text}``."""
    reasons = [
        pl.when(raw.is_null()).then(pl.lit(f"column {name}: required value is missing"))
        for name, raw in columns.items()
    ]
    return pl.coalesce(reasons) if reasons else pl.lit(None, dtype=pl.String)


def reject_unknown_currency(raw: pl.Expr, name: str) -> pl.Expr:
    """Reason for a currency code that is not ISO 4217."""
    return pl.when(raw.is_not_null() & ~raw.str.to_uppercase().is_in(sorted(ISO_4217))).then(
        pl.format("column {}: expected an ISO 4217 currency code, got '{}'", pl.lit(name), raw)
    )


def key_value_list_to_json(expr: pl.Expr) -> pl.Expr:
    """A MAP read as a list of {key, value} structs -> JSON object text (null for an empty map)."""
    pairs = expr.list.eval(
        pl.element().struct.json_encode().str.replace(r'^\{"key":(".*?"),"value":(.*)\}$', "$1:$2")
    ).list.join(",")
    return pl.when(expr.list.len() > 0).then(pl.concat_str([pl.lit("{"), pairs, pl.lit("}")]))


def tags_json(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Tags as JSON object text, whether the source holds JSON text or a MAP (list of key/value)."""
    if isinstance(dtype, pl.Map):
        return key_value_list_to_json(expr.cast(pl.List(pl.Struct({"key": pl.String, "value": pl.String}))))
    if isinstance(dtype, pl.List):
        return key_value_list_to_json(expr)
    return text(expr)


def json_string(expr: pl.Expr) -> pl.Expr:
    """Text as a JSON string literal, escaped as ``json.dumps(v, ensure_ascii=False)``; null stays null."""
    encoded = pl.struct(expr.alias("v")).struct.json_encode().str.strip_prefix('{"v":').str.strip_suffix("}")
    return pl.when(expr.is_not_null()).then(encoded)


def json_object_from_columns(values: dict[str, pl.Expr]) -> pl.Expr:
    """JSON object text from one text expression per key; null values left out, null when all are.

    Flat string expressions (no lists, no regex): each present value becomes ``"key":"value"``
    and the parts are joined, so it costs a few vectorised passes per key.
    """
    if not values:
        return pl.lit(None, dtype=pl.String)
    parts = [
        pl.when(value.is_not_null()).then(
            pl.concat_str([pl.lit(json.dumps(key, ensure_ascii=False) + ":"), json_string(value)])
        )
        for key, value in values.items()
    ]
    body = pl.concat_str(parts, separator=",", ignore_nulls=True)
    present = pl.any_horizontal([value.is_not_null() for value in values.values()])
    return pl.when(present).then(pl.concat_str([pl.lit("{"), body, pl.lit("}")]))


def json_object_from_pairs(expr: pl.Expr) -> pl.Expr:
    """A MAP read as a list of {key, value} structs -> JSON object text; null values left out, null when none.

    The present entries are encoded (``{"key":K,"value":V}``), joined, and cut to ``{K:V,...}`` with
    literal replacements on the joined text: ``"},{"key":`` and ``,"value":`` cannot occur inside an
    encoded key or value, whose quotes are escaped. No regex, no per-element string work.
    """
    entry = pl.element()
    present = expr.list.eval(entry.filter(text(entry.struct.field("value")).is_not_null()))
    body = (
        present.list.eval(entry.struct.json_encode())
        .list.join(",")
        .str.replace_all('"},{"key":', '",', literal=True)
        .str.replace_all(',"value":', ":", literal=True)
        .str.strip_prefix('{"key":')
    )
    return pl.when(present.list.len() > 0).then(pl.concat_str([pl.lit("{"), body]))


TIMESTAMP_SAMPLE_ROWS = 4000


def timestamp_formats(
    raw: pl.LazyFrame, columns: dict[str, pl.Expr], formats: tuple[str, ...] = _TS_FORMATS
) -> dict[str, tuple[str, ...]]:
    """The timestamp formats each column actually uses, from rows sampled across the frame.

    Trying every known format on every row is most of a mapping's cost; an export writes one
    format per column, so the formats that parse a sample spread over the batch are enough. A
    column whose sample parses with none keeps the full list (and its rows are rejected with a
    reason if they really are not timestamps).
    """
    height = raw.select(pl.len()).collect().item()
    if height == 0 or not columns:
        return {name: formats for name in columns}
    step = max(1, height // TIMESTAMP_SAMPLE_ROWS)
    probe = raw.select(**{name: text(expr) for name, expr in columns.items()}).gather_every(step).collect()
    found = {}
    for name in columns:
        values = probe.select(pl.col(name).drop_nulls())
        hits = (
            values.select(
                **{f"f{i}": parse_timestamp(pl.col(name), (fmt,)).is_not_null().any() for i, fmt in enumerate(formats)}
            ).row(0)
            if values.height
            else ()
        )
        found[name] = tuple(fmt for fmt, hit in zip(formats, hits) if hit) or formats
    return found


def first_match(expr: pl.Expr, patterns: tuple[tuple[str, str], ...]) -> pl.Expr:
    """The value of the first ``(regex, value)`` pattern the text matches, else null."""
    result = pl.lit(None, dtype=pl.String)
    for pattern, value in reversed(patterns):
        result = pl.when(expr.str.contains(pattern)).then(pl.lit(value)).otherwise(result)
    return result
