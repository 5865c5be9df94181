-- name: attribute_open_orders
-- Decide once, for each open order of these merchants not yet attributed, the asset it
-- is attributed to (README "Attribution"): 1. the click its click_id names; 2. else the
-- customer's latest click within the click window; 3. else the latest view within the
-- view window. Interactions after the order never count; windows include both ends and
-- come from the contract in force on the order's UTC date; ties go to the larger
-- event_id (a longer id is larger, ids of one length compare byte by byte, so numeric
-- ids compare as numbers). An order of a closed month is attributed only when a line of
-- it arrives late (status 'new'); the others were decided while their month was open.
INSERT INTO order_attributions (order_id, merchant_id, asset_id, rule, event_id)
SELECT o.order_id, o.merchant_id,
       coalesce(by_id.asset_id, by_click.asset_id, by_view.asset_id),
       CASE WHEN by_id.asset_id IS NOT NULL THEN 'click_id'
            WHEN by_click.asset_id IS NOT NULL THEN 'click' ELSE 'view' END,
       coalesce(by_id.event_id, by_click.event_id, by_view.event_id)
FROM (
    SELECT DISTINCT ON (l.order_id) l.order_id, l.merchant_id, l.ordered_at, l.customer_key,
           l.click_id
    FROM order_lines l
    WHERE l.merchant_id = ANY(%(merchant_ids)s::text[])
      AND l.status IN ('new', 'unattributed', 'waiting')
      AND NOT EXISTS (SELECT 1 FROM order_attributions a WHERE a.order_id = l.order_id)
      AND (l.status = 'new' OR NOT EXISTS (
          SELECT 1 FROM ledger_periods p
          WHERE p.merchant_id = l.merchant_id
            AND p.period = date_trunc('month', l.ordered_at AT TIME ZONE 'UTC')::date))
    ORDER BY l.order_id
) o
JOIN LATERAL (
    SELECT (c.terms -> 'attribution' ->> 'click_days')::int AS click_days,
           (c.terms -> 'attribution' ->> 'view_days')::int AS view_days
    FROM contracts c
    WHERE c.merchant_id = o.merchant_id
      AND c.effective_from <= (o.ordered_at AT TIME ZONE 'UTC')::date
    ORDER BY c.effective_from DESC LIMIT 1
) w ON true
LEFT JOIN LATERAL (
    SELECT i.asset_id, i.event_id FROM interactions i
    WHERE o.click_id IS NOT NULL AND i.merchant_id = o.merchant_id
      AND i.click_id = o.click_id AND i.kind = 'click' AND i.occurred_at <= o.ordered_at
    ORDER BY i.occurred_at DESC, length(i.event_id) DESC, i.event_id COLLATE "C" DESC LIMIT 1
) by_id ON true
LEFT JOIN LATERAL (
    SELECT i.asset_id, i.event_id FROM interactions i
    WHERE by_id.asset_id IS NULL
      AND i.merchant_id = o.merchant_id AND i.customer_key = o.customer_key AND i.kind = 'click'
      AND i.occurred_at <= o.ordered_at
      AND i.occurred_at >= o.ordered_at - make_interval(days => w.click_days)
    ORDER BY i.occurred_at DESC, length(i.event_id) DESC, i.event_id COLLATE "C" DESC LIMIT 1
) by_click ON true
LEFT JOIN LATERAL (
    SELECT i.asset_id, i.event_id FROM interactions i
    WHERE by_id.asset_id IS NULL AND by_click.asset_id IS NULL
      AND i.merchant_id = o.merchant_id AND i.customer_key = o.customer_key AND i.kind = 'view'
      AND i.occurred_at <= o.ordered_at
      AND i.occurred_at >= o.ordered_at - make_interval(days => w.view_days)
    ORDER BY i.occurred_at DESC, length(i.event_id) DESC, i.event_id COLLATE "C" DESC LIMIT 1
) by_view ON true
WHERE coalesce(by_id.asset_id, by_click.asset_id, by_view.asset_id) IS NOT NULL
ON CONFLICT (order_id) DO NOTHING;

-- name: open_lines
-- Lines of these merchants still waiting for something, with what their commission
-- needs: the attribution, the contract in force on the order's UTC date, and the FX
-- rate of that date into the contract currency: the direct rate, else the opposite
-- pair's rate with fx_inverse (the line is divided by it, exactly, in Python). Lines of
-- a closed month are included (they post into the first open month) except those left
-- unattributed while their month was open, unless their order has been attributed since
-- (a line of it arrived late).
SELECT l.order_id, l.line_id, l.merchant_id, l.ordered_at, l.quantity, l.unit_price,
       l.discount, l.currency, a.asset_id, c.version AS contract_version,
       c.currency AS contract_currency, fx.rate AS fx_rate, fx.inverse AS fx_inverse
FROM order_lines l
LEFT JOIN order_attributions a ON a.order_id = l.order_id
LEFT JOIN LATERAL (
    SELECT c.version, c.currency FROM contracts c
    WHERE c.merchant_id = l.merchant_id
      AND c.effective_from <= (l.ordered_at AT TIME ZONE 'UTC')::date
    ORDER BY c.effective_from DESC LIMIT 1
) c ON true
LEFT JOIN LATERAL (
    SELECT r.rate, r.inverse FROM (
        SELECT rate, false AS inverse FROM fx_rates
        WHERE rate_date = (l.ordered_at AT TIME ZONE 'UTC')::date
          AND base = l.currency AND quote = c.currency
        UNION ALL
        SELECT rate, true FROM fx_rates
        WHERE rate_date = (l.ordered_at AT TIME ZONE 'UTC')::date
          AND base = c.currency AND quote = l.currency
    ) r ORDER BY r.inverse LIMIT 1
) fx ON l.currency <> c.currency
WHERE l.merchant_id = ANY(%(merchant_ids)s::text[])
  AND l.status IN ('new', 'unattributed', 'waiting')
  AND (l.status <> 'unattributed' OR a.order_id IS NOT NULL OR NOT EXISTS (
      SELECT 1 FROM ledger_periods p
      WHERE p.merchant_id = l.merchant_id
        AND p.period = date_trunc('month', l.ordered_at AT TIME ZONE 'UTC')::date));

-- name: create_line_results_staging
-- Scratch table for the new state of a batch of lines (dropped at commit, or
-- replaced when an enclosing transaction runs several files).
DROP TABLE IF EXISTS pg_temp.line_results;
CREATE TEMP TABLE line_results (
    order_id text, line_id text, status text, reason text, asset_id bigint,
    contract_version int, contract_currency text, fx_rate numeric, fx_inverse boolean,
    net_gmv numeric, rate numeric, commission numeric, txn_id bigint
) ON COMMIT DROP;

-- name: apply_line_results
-- Move lines to their new state in one statement.
UPDATE order_lines l
SET status = r.status, reason = r.reason, asset_id = r.asset_id,
    contract_version = r.contract_version, contract_currency = r.contract_currency,
    fx_rate = r.fx_rate, fx_inverse = coalesce(r.fx_inverse, false), net_gmv = r.net_gmv,
    rate = r.rate, commission = r.commission, txn_id = r.txn_id
FROM line_results r
WHERE l.order_id = r.order_id AND l.line_id = r.line_id;

-- name: merchants_with_open_lines
-- Merchants with lines that an FX rate or a contract could still release.
SELECT DISTINCT merchant_id FROM order_lines WHERE status IN ('new', 'unattributed', 'waiting');

-- name: refunds_to_settle
-- Every refund of the lines that have a pending refund, oldest first (same-instant
-- refunds by refund_id, ordered as event ids are), with the line's accrual, so
-- clawbacks can be computed on cumulative refunded amounts.
SELECT r.refund_id, r.order_id, r.line_id, r.merchant_id, r.refunded_at, r.quantity,
       r.amount, r.status, r.clawback, l.status AS line_status, l.quantity AS line_quantity,
       l.unit_price, l.discount, l.asset_id, l.contract_currency, l.fx_rate, l.fx_inverse,
       l.rate, l.commission
FROM refunds r
JOIN order_lines l ON l.order_id = r.order_id AND l.line_id = r.line_id
WHERE (r.order_id, r.line_id) IN (
    SELECT order_id, line_id FROM refunds
    WHERE status = 'pending' AND merchant_id = ANY(%(merchant_ids)s::text[]))
ORDER BY r.order_id, r.line_id, r.refunded_at, length(r.refund_id), r.refund_id;

-- name: settle_refund
-- Record a refund's clawback (or that its line earned nothing).
UPDATE refunds SET status = %(status)s, clawback = %(clawback)s, txn_id = %(txn_id)s
WHERE refund_id = %(refund_id)s AND status = 'pending';

-- name: contract_versions
-- Terms of some contract versions, named by merchant and version.
SELECT c.merchant_id, c.version, c.terms
FROM contracts c
JOIN unnest(%(merchant_ids)s::text[], %(versions)s::int[]) AS v(merchant_id, version)
  ON c.merchant_id = v.merchant_id AND c.version = v.version;

-- name: lock_merchant_close
-- Serialise a merchant's month close with its imports' accruals (released at commit).
SELECT pg_advisory_xact_lock(hashtext('close:' || %(merchant_id)s));
