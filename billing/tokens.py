"""Token wallets: packs bought in advance, holds while a render runs, usage on success.

Buying a pack credits the wallet with tokens and books its price as deferred revenue.
A render first holds its tokens (lowering what is available, not the balance); success
commits the hold, moving tokens out of the wallet and recognising revenue at the price
the tokens were bought for (oldest pack first); failure voids it. PostgreSQL refuses a
wallet below zero or holds above the balance (migration 0002); ``wrap_exceptions``
turns that refusal into InsufficientTokens.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import psycopg

from billing.errors import InsufficientTokens, LedgerError, wrap_exceptions
from billing.ledger import Entry, Posted, Posting, post
from billing.money import TOKEN, require_whole_minor_units, round_to_minor
from billing.queries import query


@dataclass(frozen=True)
class Hold:
    hold_key: str
    tokens: int
    status: str


@wrap_exceptions()
def buy_pack(
    conn: psycopg.Connection,
    merchant_id: str,
    tokens: int,
    price: Decimal,
    currency: str,
    idempotency_key: str,
    effective_date: date,
) -> Posted:
    if tokens <= 0:
        raise LedgerError(f"{idempotency_key}: a pack holds a positive number of tokens")
    require_whole_minor_units(price, currency, idempotency_key)
    if price < 0:
        raise LedgerError(f"{idempotency_key}: a pack's price cannot be negative")
    amount = Decimal(tokens)
    postings = [
        Posting("token_issuance", TOKEN, "D", amount),
        Posting("wallet", TOKEN, "C", amount),
    ]
    if price > 0:
        postings += [
            Posting("receivable", currency, "D", price),
            Posting("deferred_revenue", currency, "C", price),
        ]
    entry = Entry(
        idempotency_key,
        merchant_id,
        "token_pack",
        effective_date,
        tuple(postings),
        event={"tokens": tokens, "price": str(price), "currency": currency},
    )
    with conn.transaction():
        posted = post(conn, entry)
        conn.execute(
            query("insert_token_lot"),
            {
                "merchant_id": merchant_id,
                "txn_id": posted.txn_id,
                "currency": currency,
                "tokens": tokens,
                "price": price,
            },
        )
    return posted


@wrap_exceptions()
def hold_tokens(conn: psycopg.Connection, merchant_id: str, hold_key: str, tokens: int) -> Hold:
    """Reserve tokens for a render; refuse, writing nothing, when the wallet cannot cover it."""
    if tokens <= 0:
        raise LedgerError(f"{hold_key}: a hold needs a positive number of tokens")
    with conn.transaction():
        wallet = conn.execute(query("lock_wallet"), {"merchant_id": merchant_id}).fetchone()
        existing = conn.execute(query("get_hold"), {"hold_key": hold_key}).fetchone()
        if existing:
            return Hold(hold_key, existing["tokens"], existing["status"])
        available = (wallet["balance"] - wallet["held"]) if wallet else Decimal(0)
        if available < tokens:
            raise InsufficientTokens(
                f"merchant {merchant_id}: render {hold_key} needs {tokens} tokens, "
                f"the wallet has {available} available; buy a token pack",
                available=available,
            )
        conn.execute(
            query("insert_hold"),
            {"hold_key": hold_key, "merchant_id": merchant_id, "tokens": tokens},
        )
        conn.execute(query("change_wallet_hold"), {"merchant_id": merchant_id, "tokens": tokens})
    return Hold(hold_key, tokens, "held")


@wrap_exceptions()
def void_hold(conn: psycopg.Connection, hold_key: str) -> Hold:
    """Release a failed render's tokens; voiding twice is a no-op."""
    with conn.transaction():
        hold = _locked_hold(conn, hold_key)
        if hold["status"] == "held":
            conn.execute(
                query("change_wallet_hold"),
                {"merchant_id": hold["merchant_id"], "tokens": -hold["tokens"]},
            )
            conn.execute(
                query("settle_hold"), {"hold_key": hold_key, "status": "voided", "txn_id": None}
            )
        elif hold["status"] == "committed":
            raise LedgerError(f"hold {hold_key} was committed; it cannot be voided")
    return Hold(hold_key, hold["tokens"], "voided")


@wrap_exceptions()
def commit_hold(conn: psycopg.Connection, hold_key: str, effective_date: date) -> Posted:
    """Charge a successful render: tokens leave the wallet, revenue is recognised."""
    with conn.transaction():
        hold = _locked_hold(conn, hold_key)
        usage_key = f"token_usage:{hold_key}"
        if hold["status"] == "voided":
            raise LedgerError(f"hold {hold_key} was voided; it cannot be committed")
        if hold["status"] == "committed":
            return Posted(hold["txn_id"], usage_key, False, effective_date)
        merchant_id, tokens = hold["merchant_id"], hold["tokens"]
        recognised = _consume_lots(conn, merchant_id, tokens)
        postings = [
            Posting("wallet", TOKEN, "D", Decimal(tokens)),
            Posting("token_issuance", TOKEN, "C", Decimal(tokens)),
        ]
        for currency, amount in sorted(recognised.items()):
            if amount > 0:
                postings += [
                    Posting("deferred_revenue", currency, "D", amount),
                    Posting("revenue_tokens", currency, "C", amount),
                ]
        # Release the hold before the wallet is debited: held may never exceed balance.
        conn.execute(query("change_wallet_hold"), {"merchant_id": merchant_id, "tokens": -tokens})
        posted = post(
            conn,
            Entry(
                usage_key,
                merchant_id,
                "token_usage",
                effective_date,
                tuple(postings),
                event={"hold": hold_key, "tokens": tokens},
            ),
            late="adjust",
        )
        conn.execute(
            query("settle_hold"),
            {"hold_key": hold_key, "status": "committed", "txn_id": posted.txn_id},
        )
    return posted


def usage_value(conn: psycopg.Connection, hold_keys: list[str]) -> dict[str, Decimal]:
    """Tokens (``TOKEN``) and the prepaid money (per currency) that these committed holds
    used; holds not committed count nothing."""
    keys = [f"token_usage:{key}" for key in hold_keys]
    rows = conn.execute(query("usage_value"), {"usage_keys": keys})
    return {row["asset"]: row["amount"] for row in rows}


def _locked_hold(conn: psycopg.Connection, hold_key: str) -> dict:
    hold = conn.execute(query("get_hold"), {"hold_key": hold_key}).fetchone()
    if hold is None:
        raise LedgerError(f"no token hold {hold_key!r}")
    return hold


def _consume_lots(conn: psycopg.Connection, merchant_id: str, tokens: int) -> dict[str, Decimal]:
    """Take tokens from the oldest packs; return the deferred money to recognise per currency.

    A lot's last token carries whatever deferred money is left, so each pack's price is
    recognised exactly, to the minor unit, by the time its tokens are used up.
    """
    recognised: dict[str, Decimal] = defaultdict(Decimal)
    still_needed = tokens
    for lot in conn.execute(query("open_token_lots"), {"merchant_id": merchant_id}).fetchall():
        if still_needed == 0:
            break
        take = min(still_needed, lot["tokens_left"])
        if take == lot["tokens_left"]:
            amount = lot["deferred_left"]
        else:
            share = lot["deferred_left"] * take / lot["tokens_left"]
            amount = min(round_to_minor(share, lot["currency"]), lot["deferred_left"])
        conn.execute(
            query("consume_token_lot"), {"lot_id": lot["lot_id"], "tokens": take, "amount": amount}
        )
        recognised[lot["currency"]] += amount
        still_needed -= take
    if still_needed:
        raise InsufficientTokens(
            f"merchant {merchant_id}: token packs cover {tokens - still_needed} "
            f"of the {tokens} tokens held"
        )
    return recognised


def find_hold(conn: psycopg.Connection, hold_key: str) -> Hold | None:
    hold = conn.execute(query("get_hold"), {"hold_key": hold_key}).fetchone()
    return Hold(hold_key, hold["tokens"], hold["status"]) if hold else None
