-- Month close, contributor payables, statements and reconciliation. Commission lines
-- are read from attribution's tables: billing reports on them, it never writes them.

-- name: month_attributed
-- A merchant's accrued lines ordered in a month (UTC), per contract currency and FX
-- rate: their net GMV in the order's currency (exact: the rate is applied in Python,
-- dividing for an inverse pair) and the commission that accrued on them.
SELECT contract_currency AS currency, fx_rate, fx_inverse,
       sum(quantity * unit_price - discount) AS net, sum(commission) AS accrued,
       count(*) AS lines
FROM order_lines
WHERE merchant_id = %(merchant_id)s AND status = 'accrued'
  AND ordered_at >= (%(period)s::date)::timestamp AT TIME ZONE 'UTC'
  AND ordered_at < ((%(period)s::date + interval '1 month')::timestamp AT TIME ZONE 'UTC')
GROUP BY contract_currency, fx_rate, fx_inverse;

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
-- GMV-share movements posted in the month that are still inside their lock period on
-- ``as_of``: a commission and the clawbacks of its line lock on the order's UTC date +
-- lock_days; a tier true-up on its month's last day + lock_days. Locked on the lock
-- date itself (as_of = lock date: due).
WITH moves AS (
    SELECT t.txn_id, t.code, t.event, p.asset AS currency,
           CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END AS amount
    FROM ledger_transactions t
    JOIN ledger_postings p ON p.txn_id = t.txn_id
    JOIN ledger_accounts a ON a.account_id = p.account_id AND a.kind = 'receivable'
    WHERE t.merchant_id = %(merchant_id)s
      AND t.code IN ('gmv_commission', 'gmv_clawback', 'gmv_true_up')
      AND t.effective_date >= %(period)s::date
      AND t.effective_date < (%(period)s::date + interval '1 month')
), locked AS (
    SELECT m.currency, m.amount,
           CASE WHEN m.code = 'gmv_true_up'
                THEN ((m.event ->> 'period') || '-01')::date + interval '1 month'
                     - interval '1 day' + make_interval(days => (c.terms ->> 'lock_days')::int)
                ELSE (l.ordered_at AT TIME ZONE 'UTC')::date
                     + make_interval(days => (c.terms ->> 'lock_days')::int)
           END::date AS locks_on
    FROM moves m
    LEFT JOIN refunds r ON m.code = 'gmv_clawback' AND r.txn_id = m.txn_id
    LEFT JOIN order_lines cl ON m.code = 'gmv_commission' AND cl.txn_id = m.txn_id
    LEFT JOIN order_lines rl ON rl.order_id = r.order_id AND rl.line_id = r.line_id
    CROSS JOIN LATERAL (SELECT coalesce(cl.ordered_at, rl.ordered_at) AS ordered_at,
                               coalesce(cl.contract_version, rl.contract_version,
                                        (m.event ->> 'contract_version')::int) AS version) l
    LEFT JOIN contracts c ON c.merchant_id = %(merchant_id)s AND c.version = l.version
)
SELECT currency, sum(amount) AS amount, count(*) AS movements, max(locks_on) AS locks_by
FROM locked WHERE locks_on > %(as_of)s
GROUP BY currency;

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
-- A merchant's attributed lines ordered in the month (UTC), with the refunds dated (UTC)
-- on or before ``refunds_until``: the net amount after refunds, in the order's currency,
-- is computed exactly from these in Python (a quantity refunds its share of the discount).
SELECT l.order_id, l.line_id, l.currency, l.quantity, l.unit_price, l.discount,
       coalesce(r.quantity, 0) AS refunded_quantity, coalesce(r.amount, 0) AS refunded_amount
FROM order_lines l
JOIN order_attributions a ON a.order_id = l.order_id
LEFT JOIN (SELECT order_id, line_id, sum(quantity) AS quantity, sum(amount) AS amount
           FROM refunds
           WHERE merchant_id = %(merchant_id)s
             AND refunded_at < ((%(refunds_until)s::date + 1)::timestamp AT TIME ZONE 'UTC')
           GROUP BY order_id, line_id) r ON r.order_id = l.order_id AND r.line_id = l.line_id
WHERE l.merchant_id = %(merchant_id)s
  AND l.ordered_at >= (%(period)s::date)::timestamp AT TIME ZONE 'UTC'
  AND l.ordered_at < ((%(period)s::date + interval '1 month')::timestamp AT TIME ZONE 'UTC')
ORDER BY l.order_id, l.line_id;

-- name: unattributed_orders
-- A merchant's orders of a month (UTC) that no asset was attributed to, with why: the
-- customer's clicks (views) before the order were all outside the click (view) window,
-- there were interactions only after the order, the order's click_id names no click of
-- the merchant, no contract was in force, or no interaction at all.
SELECT o.order_id, o.ordered_at, o.customer_key, o.click_id, o.currency, o.lines, o.net,
       CASE
         WHEN c.version IS NULL
           THEN format('no contract in force on %%s', (o.ordered_at AT TIME ZONE 'UTC')::date)
         WHEN i.clicks_before > 0 THEN 'outside the click window'
         WHEN i.views_before > 0 THEN 'outside the view window'
         WHEN i.after > 0 THEN 'interactions only after the order'
         WHEN o.click_id IS NOT NULL
           THEN format('click_id %%s names no click of this merchant', o.click_id)
         ELSE 'no interaction'
       END AS reason
FROM (
    SELECT l.order_id, min(l.ordered_at) AS ordered_at, min(l.customer_key) AS customer_key,
           min(l.click_id) AS click_id, min(l.currency) AS currency, count(*) AS lines,
           sum(l.quantity * l.unit_price - l.discount) AS net
    FROM order_lines l
    WHERE l.merchant_id = %(merchant_id)s AND l.status = 'unattributed'
      AND l.ordered_at >= (%(period)s::date)::timestamp AT TIME ZONE 'UTC'
      AND l.ordered_at < ((%(period)s::date + interval '1 month')::timestamp AT TIME ZONE 'UTC')
      AND NOT EXISTS (SELECT 1 FROM order_attributions a WHERE a.order_id = l.order_id)
    GROUP BY l.order_id
) o
LEFT JOIN LATERAL (
    SELECT version FROM contracts
    WHERE merchant_id = %(merchant_id)s
      AND effective_from <= (o.ordered_at AT TIME ZONE 'UTC')::date
    ORDER BY effective_from DESC LIMIT 1
) c ON true
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE kind = 'click' AND occurred_at <= o.ordered_at)
               AS clicks_before,
           count(*) FILTER (WHERE kind = 'view' AND occurred_at <= o.ordered_at) AS views_before,
           count(*) FILTER (WHERE occurred_at > o.ordered_at) AS after
    FROM interactions
    WHERE merchant_id = %(merchant_id)s AND customer_key = o.customer_key
) i
ORDER BY o.ordered_at, o.order_id;
