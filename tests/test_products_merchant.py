"""A product's merchant is kept by PostgreSQL per statement (migration 0022), with the
guarantees of the foreign key it replaced: no product of a merchant that does not
exist, none moved to another merchant, no merchant deleted from under its products,
even while an upload that adds its products is still running."""

from __future__ import annotations

import uuid

import psycopg
import pytest

PRODUCT = (
    "INSERT INTO products (merchant_id, product_id, title, price, currency, content_hash) "
    "VALUES (%s, %s, 'Mug', 12.50, 'USD', 'h')"
)


@pytest.fixture
def url(adreel_env) -> str:
    return adreel_env["ADREEL_DATABASE_URL"]


def _merchant(url: str) -> str:
    merchant_id = f"m-{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO merchants (merchant_id, name) VALUES (%s, 'Shop')", [merchant_id])
    return merchant_id


def test_products_of_a_missing_merchant_are_refused_and_none_is_written(url):
    known = _merchant(url)
    with psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="ghost-shop"):
            conn.execute(
                "INSERT INTO products"
                " (merchant_id, product_id, title, price, currency, content_hash)"
                " VALUES (%s, 'a', 'Mug', 1, 'USD', 'h'),"
                " ('ghost-shop', 'b', 'Cup', 1, 'USD', 'h')",
                [known],
            )
        written = conn.execute("SELECT count(*) FROM products WHERE merchant_id = %s", [known])
        assert written.fetchone()[0] == 0


def test_a_product_cannot_move_to_another_merchant(url):
    first, second = _merchant(url), _merchant(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PRODUCT, [first, "mug"])
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="cannot move"):
            conn.execute(
                "UPDATE products SET merchant_id = %s WHERE merchant_id = %s", [second, first]
            )
        conn.execute("UPDATE products SET title = 'Big mug' WHERE merchant_id = %s", [first])


def test_a_merchant_with_products_cannot_be_deleted_or_renamed(url):
    merchant_id = _merchant(url)
    empty = _merchant(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PRODUCT, [merchant_id, "mug"])
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="still has products"):
            conn.execute("DELETE FROM merchants WHERE merchant_id = %s", [merchant_id])
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="still has products"):
            conn.execute(
                "UPDATE merchants SET merchant_id = %s WHERE merchant_id = %s",
                [f"{merchant_id}-x", merchant_id],
            )
        conn.execute("DELETE FROM merchants WHERE merchant_id = %s", [empty])  # no products


def test_a_merchant_cannot_be_deleted_while_an_upload_adds_its_products(url):
    merchant_id = _merchant(url)
    with psycopg.connect(url) as upload, psycopg.connect(url, autocommit=True) as other:
        upload.execute(PRODUCT, [merchant_id, "mug"])  # not committed yet
        other.execute("SET lock_timeout = '300ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute("DELETE FROM merchants WHERE merchant_id = %s", [merchant_id])
        upload.commit()
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="still has products"):
            other.execute("DELETE FROM merchants WHERE merchant_id = %s", [merchant_id])
