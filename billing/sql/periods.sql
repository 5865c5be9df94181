-- Month close, contributor payables, statements and reconciliation. Commission lines
-- are read from attribution's tables: billing reports on them, it never writes them.

-- name: month_attributed
-- A merchant's accrued lines ordered in a month (UTC), per contract currency: the net
-- GMV the tier true-up is computed on and the commission that accrued on it.
SELECT contract_currency AS currency, sum(net_gmv) AS net_gmv, sum(commission) AS accrued,
       count(*) AS lines
FROM order_lines
WHERE merchant_id = %(merchant_id)s AND status = 'accrued'
  AND ordered_at >= (%(period)s::date)::timestamp AT TIME ZONE 'UTC'
  AND ordered_at < ((%(period)s::date + interval '1 month')::timestamp AT TIME ZONE 'UTC')
GROUP BY contract_currency;

-- name: revenue_by_template
-- A merchant's revenue in a month from materials of each template that has a
-- contributor: RaaS charges plus commission minus clawbacks, found through the asset
-- each ledger transaction names.
SELECT tc.template, tc.contributor, tc.share, p.asset AS currency,
       sum(CASE WHEN a.kind = 'commission_clawback' THEN -p.amount ELSE p.amount END) AS revenue
FROM ledger_transactions t
JOIN ledger_postings p ON p.txn_id = t.txn_id
JOIN ledger_accounts a ON a.account_id = p.account_id
JOIN assets s ON s.asset_id = (t.event ->> 'asset_id')::bigint
JOIN template_contributors tc ON tc.template = s.template
WHERE t.merchant_id = %(merchant_id)s
  AND t.effective_date >= %(period)s::date
  AND t.effective_date < (%(period)s::date + interval '1 month')
  AND a.kind IN ('revenue_raas', 'revenue_gmv_share', 'commission_clawback')
GROUP BY tc.template, tc.contributor, tc.share, p.asset;

-- name: insert_contributor_earning
-- One contributor's share of one merchant's month; a replay inserts nothing.
INSERT INTO contributor_earnings
    (period, contributor, merchant_id, currency, revenue, amount, txn_id)
VALUES (%(period)s, %(contributor)s, %(merchant_id)s, %(currency)s, %(revenue)s,
        %(amount)s, %(txn_id)s)
ON CONFLICT DO NOTHING;

-- name: set_template_contributor
-- Name a template's contributor and revenue share (replaces the previous one).
INSERT INTO template_contributors (template, contributor, share)
VALUES (%(template)s, %(contributor)s, %(share)s)
ON CONFLICT (template) DO UPDATE SET contributor = EXCLUDED.contributor, share = EXCLUDED.share;

-- name: contributor_earnings
-- What contributors earned in a month, per contributor, merchant and currency.
SELECT period, contributor, merchant_id, currency, revenue, amount, txn_id, paid_txn_id,
       paid_reference
FROM contributor_earnings
WHERE period = %(period)s AND (%(contributor)s::text IS NULL OR contributor = %(contributor)s)
ORDER BY contributor, currency, merchant_id;

-- name: mark_earning_paid
-- Record the payout of one earning.
UPDATE contributor_earnings SET paid_txn_id = %(txn_id)s, paid_reference = %(reference)s
WHERE period = %(period)s AND contributor = %(contributor)s AND merchant_id = %(merchant_id)s
  AND currency = %(currency)s AND paid_txn_id IS NULL;

-- name: statement_totals
-- A merchant's month as the receivable account saw it, per transaction code and
-- currency: what was charged (positive) and credited (negative).
SELECT t.code, p.asset AS currency,
       sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END) AS amount,
       count(DISTINCT t.txn_id) AS transactions
FROM ledger_transactions t
JOIN ledger_postings p ON p.txn_id = t.txn_id
JOIN ledger_accounts a ON a.account_id = p.account_id AND a.kind = 'receivable'
WHERE t.merchant_id = %(merchant_id)s
  AND t.effective_date >= %(period)s::date
  AND t.effective_date < (%(period)s::date + interval '1 month')
GROUP BY t.code, p.asset
ORDER BY p.asset, t.code;

-- name: statement_pending_commission
-- Commission posted in the month that is still inside its lock period on ``as_of``.
SELECT l.contract_currency AS currency, sum(l.commission) AS amount, count(*) AS lines,
       max((l.ordered_at AT TIME ZONE 'UTC')::date + (c.terms ->> 'lock_days')::int) AS locks_by
FROM order_lines l
JOIN ledger_transactions t ON t.txn_id = l.txn_id
JOIN contracts c ON c.merchant_id = l.merchant_id AND c.version = l.contract_version
WHERE t.merchant_id = %(merchant_id)s
  AND t.effective_date >= %(period)s::date
  AND t.effective_date < (%(period)s::date + interval '1 month')
  AND (l.ordered_at AT TIME ZONE 'UTC')::date + (c.terms ->> 'lock_days')::int > %(as_of)s
GROUP BY l.contract_currency;

-- name: statement_daily_by_asset
-- Attributed net GMV and commission per UTC day and asset, for the statement's chart.
SELECT (l.ordered_at AT TIME ZONE 'UTC')::date AS day, l.asset_id, l.contract_currency AS currency,
       sum(l.net_gmv) AS net_gmv, sum(l.commission) AS commission
FROM order_lines l
WHERE l.merchant_id = %(merchant_id)s AND l.status = 'accrued'
  AND l.ordered_at >= (%(period)s::date)::timestamp AT TIME ZONE 'UTC'
  AND l.ordered_at < ((%(period)s::date + interval '1 month')::timestamp AT TIME ZONE 'UTC')
GROUP BY 1, 2, 3 ORDER BY 1, 2;

-- name: reconcilable_lines
-- A merchant's attributed lines ordered in the month (UTC): net amount after refunds,
-- in the order's currency, as an outside settlement report would state it.
SELECT l.order_id, l.line_id, l.currency,
       l.quantity * l.unit_price - l.discount - coalesce(r.refunded, 0) AS amount
FROM order_lines l
JOIN order_attributions a ON a.order_id = l.order_id
LEFT JOIN (SELECT order_id, line_id, sum(net_refund) AS refunded FROM refunds
           GROUP BY order_id, line_id) r ON r.order_id = l.order_id AND r.line_id = l.line_id
WHERE l.merchant_id = %(merchant_id)s
  AND l.ordered_at >= (%(period)s::date)::timestamp AT TIME ZONE 'UTC'
  AND l.ordered_at < ((%(period)s::date + interval '1 month')::timestamp AT TIME ZONE 'UTC')
ORDER BY l.order_id, l.line_id;

