"""What each finance import file holds: interactions, orders, refunds, FX rates.

Read and checked by billing's file reader (``billing.feeds``), as settlement reports are.
"""

from billing.feeds import Column, FeedSpec

INTERACTIONS = FeedSpec(
    "interactions",
    (
        Column("event_id"),
        Column("merchant_id"),
        Column("asset_id", "count"),
        Column("kind", "enum", choices=("click", "view")),
        Column("customer_key"),
        Column("occurred_at", "timestamp"),
        Column("click_id", required=False),
    ),
)
ORDERS = FeedSpec(
    "orders",
    (
        Column("order_id"),
        Column("line_id"),
        Column("merchant_id"),
        Column("ordered_at", "timestamp"),
        Column("customer_key"),
        Column("product_id"),
        Column("quantity", "count"),
        Column("unit_price", "decimal"),
        Column("discount", "decimal", required=False),
        Column("currency", "currency"),
        Column("click_id", required=False),
    ),
)
REFUNDS = FeedSpec(
    "refunds",
    (
        Column("refund_id"),
        Column("order_id"),
        Column("line_id"),
        Column("refunded_at", "timestamp"),
        Column("quantity", "count", required=False),
        Column("amount", "decimal", required=False),
    ),
)
FX_RATES = FeedSpec(
    "fx",
    (
        Column("date", "date"),
        Column("base", "currency"),
        Column("quote", "currency"),
        Column("rate", "decimal"),
    ),
)
