"""A document number typed into a console search: which document it names."""
import pytest

from core.workflows.document_search import DocumentRef, find_document, parse_document_number


@pytest.mark.parametrize("text, kind, number", [
    ("SO-000017", "order", "SO-000017"), ("so-000017", "order", "SO-000017"),
    ("  SO-000017 ", "order", "SO-000017"), ("SO 17", "order", "SO-000017"),
    ("so - 17", "order", "SO-000017"), ("INV-000003", "invoice", "INV-000003"),
    ("inv3", "invoice", "INV-000003"), ("RMA-000002", "return", "RMA-000002"),
    ("qt-000001", "quote", "QT-000001")])
def test_a_document_number_in_any_case_and_spacing_names_its_document(text, kind, number):
    assert parse_document_number(text) == DocumentRef(kind, number)


@pytest.mark.parametrize("text", ["", "Sam Shopper", "C-000001", "PO-000001", "CN-000001",
                                  "SO-", "17", "SO-0000017x", "shopper@example.com",
                                  "SO-1234567890"])
def test_other_text_names_no_document(text):
    assert parse_document_number(text) is None


def test_only_a_document_that_exists_is_found(db):
    assert find_document(db, "SO-000001") == DocumentRef("order", "SO-000001")
    assert find_document(db, "SO-999999") is None
    assert find_document(db, "Sam Shopper") is None
