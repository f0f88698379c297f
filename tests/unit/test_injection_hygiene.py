"""Review L11, injection hygiene: every CSV we write defuses cells a spreadsheet would run
as a formula (leading TAB and CR included) with one shared guard, and the warehouse's
order-number filter treats LIKE wildcards as the characters they are."""
from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest

from core.billing import ledger
from core.catalog import csv_io
from core.fulfilment import queries as fulfilment_queries


# -- L11: one formula guard for every CSV --------------------------------------------------------

@pytest.mark.parametrize("cell", ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=cmd|' /C calc'!A0",
                                  "\r=HYPERLINK(\"http://evil\")", "-Infinity"])
def test_cells_a_spreadsheet_would_run_are_defused_and_restored(cell):
    from core import spreadsheet
    assert spreadsheet.defuse(cell) == "'" + cell
    assert spreadsheet.restore(spreadsheet.defuse(cell)) == cell


@pytest.mark.parametrize("cell", ["-12.50", "+3", "0.5", "Paper", "", "'quoted", None])
def test_numbers_and_plain_text_stay_as_they_are(cell):
    from core import spreadsheet
    assert spreadsheet.defuse(cell) == ("" if cell is None else cell)


def test_catalogue_and_ledger_exports_share_the_guard():
    from core import spreadsheet
    assert csv_io._safe is spreadsheet.defuse and csv_io._unsafe is spreadsheet.restore


def test_the_ledger_export_defuses_a_memo_that_starts_with_a_tab_or_carriage_return(db):
    for memo in ("\t=cmd|' /C calc'!A0", "\r=HYPERLINK(\"http://evil\")"):
        ledger.post(db, "manual", currency="EUR", memo=memo, reference="\t+1+1",
                    actor="test", postings=[ledger.dr("1200", D("1.00")),
                                            ledger.cr("4000", D("1.00"))])
    rows = list(csv.reader(io.StringIO("".join(ledger.export_csv(db)), newline="")))
    memos = [row[4] for row in rows if row[4].lstrip("'").startswith(("\t", "\r"))]
    assert memos and all(m.startswith("'") for m in memos)
    assert all(row[3].startswith("'") for row in rows if "+1+1" in row[3])


# -- L11: the fulfilment number filter matches literally ------------------------------------------

@pytest.mark.parametrize("typed", ["%", "_", "SO-%", "\\"])
def test_the_order_number_filter_treats_like_wildcards_as_text(db, typed):
    found = fulfilment_queries.to_release(db, fulfilment_queries.ReleaseFilters(number=typed))
    assert found.total == 0
    anything = fulfilment_queries.to_release(db, fulfilment_queries.ReleaseFilters())
    assert anything.total > 0  # the demo has orders to release: the filter is what hid them

