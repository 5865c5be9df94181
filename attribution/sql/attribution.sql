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
    -- the windows of the contract in force on the order's UTC date (one hash join over
    -- each version's range of days, not a lookup per order), and the orders in the
    -- order of the interactions index: each customer's lookups then read neighbouring
    -- index pages instead of pages all over an index larger than shared buffers
    SELECT o.*, (c.terms -> 'attribution' ->> 'click_days')::int AS click_days,
           (c.terms -> 'attribution' ->> 'view_days')::int AS view_days
    FROM (
        SELECT DISTINCT ON (l.order_id) l.order_id, l.merchant_id, l.ordered_at,
               l.customer_key, l.click_id
        FROM order_lines_and_new l
        WHERE l.merchant_id = ANY(%(merchant_ids)s::text[])
          AND l.status IN ('new', 'unattributed', 'waiting')
          AND NOT EXISTS (SELECT 1 FROM order_attributions a WHERE a.order_id = l.order_id)
          AND (l.status = 'new' OR NOT EXISTS (
              SELECT 1 FROM ledger_periods p
              WHERE p.merchant_id = l.merchant_id
                AND p.period = date_trunc('month', l.ordered_at AT TIME ZONE 'UTC')::date))
        ORDER BY l.order_id
    ) o
    JOIN (
        SELECT c.merchant_id, c.terms, c.effective_from,
               lead(c.effective_from) OVER (PARTITION BY c.merchant_id
                                            ORDER BY c.effective_from) AS until
        FROM contracts c WHERE c.merchant_id = ANY(%(merchant_ids)s::text[])
    ) c ON c.merchant_id = o.merchant_id
       AND c.effective_from <= (o.ordered_at AT TIME ZONE 'UTC')::date
       AND (c.until IS NULL OR (o.ordered_at AT TIME ZONE 'UTC')::date < c.until)
    ORDER BY o.merchant_id, o.customer_key, o.ordered_at
) o
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
      AND i.occurred_at >= o.ordered_at - make_interval(days => o.click_days)
    ORDER BY i.occurred_at DESC, length(i.event_id) DESC, i.event_id COLLATE "C" DESC LIMIT 1
) by_click ON true
LEFT JOIN LATERAL (
    SELECT i.asset_id, i.event_id FROM interactions i
    WHERE by_id.asset_id IS NULL AND by_click.asset_id IS NULL
      AND i.merchant_id = o.merchant_id AND i.customer_key = o.customer_key AND i.kind = 'view'
      AND i.occurred_at <= o.ordered_at
      AND i.occurred_at >= o.ordered_at - make_interval(days => o.view_days)
    ORDER BY i.occurred_at DESC, length(i.event_id) DESC, i.event_id COLLATE "C" DESC LIMIT 1
) by_view ON true
WHERE coalesce(by_id.asset_id, by_click.asset_id, by_view.asset_id) IS NOT NULL
ON CONFLICT (order_id) DO NOTHING;

-- name: create_contract_terms
-- Scratch table for what the commission needs from each contract version of the
-- merchants in a pass (parsed and validated in Python, one row per version).
DROP TABLE IF EXISTS pg_temp.contract_terms;
CREATE TEMP TABLE contract_terms (
    merchant_id text, version int, currency text, billed boolean, rate numeric,
    digits int, PRIMARY KEY (merchant_id, version)
) ON COMMIT DROP;

-- name: merchant_contracts
-- Every contract version of some merchants.
SELECT merchant_id, version, terms FROM contracts WHERE merchant_id = ANY(%(merchant_ids)s::text[]);

-- name: drop_line_results
-- Drop an earlier pass's line_results (an enclosing transaction may run several files).
DROP TABLE IF EXISTS pg_temp.line_results;

-- name: decide_open_lines
-- The new state of every line of these merchants still waiting for something, decided
-- in one statement: the attribution, the contract in force on the order's UTC date, and
-- the FX rate of that date into the contract currency (the direct rate, else the
-- opposite pair's, divided by). Lines of a closed month are included (they post into
-- the first open month) except those left unattributed while their month was open,
-- unless their order has been attributed since (a line of it arrived late). The
-- commission is the exact net GMV (quantity x unit_price - discount, converted) times
-- the first tier's rate, rounded half-even once (round_half_even, migration 0021).
-- Run after drop_line_results.
CREATE TEMP TABLE line_results ON COMMIT DROP AS
WITH versions AS (
    -- each contract version with the day the next one takes over (a range per version,
    -- so each line finds its contract by one hash join instead of a lookup per line)
    SELECT c.merchant_id, c.version, c.currency, c.effective_from,
           lead(c.effective_from) OVER (PARTITION BY c.merchant_id
                                        ORDER BY c.effective_from) AS until
    FROM contracts c WHERE c.merchant_id = ANY(%(merchant_ids)s::text[])
), open AS (
    SELECT l.order_id, l.line_id, l.merchant_id, l.ordered_at, l.is_new,
           (l.ordered_at AT TIME ZONE 'UTC')::date AS on_date,
           l.quantity * l.unit_price - l.discount AS net, l.currency, a.asset_id,
           c.version AS contract_version, t.currency AS contract_currency, t.billed, t.rate,
           t.digits,
           CASE WHEN l.currency = c.currency THEN 1::numeric
                ELSE coalesce(fx.rate, fx_back.rate) END AS fx_rate,
           CASE WHEN l.currency = c.currency THEN false
                WHEN fx.rate IS NOT NULL THEN false
                WHEN fx_back.rate IS NOT NULL THEN true END AS fx_inverse
    FROM order_lines_and_new l
    LEFT JOIN order_attributions a ON a.order_id = l.order_id
    LEFT JOIN versions c
      ON c.merchant_id = l.merchant_id
     AND c.effective_from <= (l.ordered_at AT TIME ZONE 'UTC')::date
     AND (c.until IS NULL OR (l.ordered_at AT TIME ZONE 'UTC')::date < c.until)
    LEFT JOIN contract_terms t ON t.merchant_id = l.merchant_id AND t.version = c.version
    -- the direct rate of the day, else the opposite pair's (divided by): two hash joins
    -- on the rates' key (a lookup per line cost 13 us a line, most of the statement)
    LEFT JOIN fx_rates fx
      ON l.currency <> c.currency AND fx.rate_date = (l.ordered_at AT TIME ZONE 'UTC')::date
     AND fx.base = l.currency AND fx.quote = c.currency
    LEFT JOIN fx_rates fx_back
      ON l.currency <> c.currency
     AND fx_back.rate_date = (l.ordered_at AT TIME ZONE 'UTC')::date
     AND fx_back.base = c.currency AND fx_back.quote = l.currency
    WHERE l.merchant_id = ANY(%(merchant_ids)s::text[])
      AND l.status IN ('new', 'unattributed', 'waiting')
      AND (l.status <> 'unattributed' OR a.order_id IS NOT NULL OR NOT EXISTS (
          SELECT 1 FROM ledger_periods p
          WHERE p.merchant_id = l.merchant_id
            AND p.period = date_trunc('month', l.ordered_at AT TIME ZONE 'UTC')::date))
), decided AS (
    SELECT o.*,
           CASE WHEN o.asset_id IS NULL THEN 'unattributed'
                WHEN o.contract_version IS NULL THEN 'waiting'
                WHEN NOT o.billed THEN 'not_billed'
                WHEN o.fx_rate IS NULL THEN 'waiting'
                ELSE 'accrued' END AS status
    FROM open o
)
SELECT d.order_id, d.line_id, d.merchant_id, d.is_new, d.on_date, d.status,
       'gmv:' || d.merchant_id || ':' || d.order_id || ':' || d.line_id AS commission_key,
       CASE WHEN d.asset_id IS NULL THEN NULL
            WHEN d.contract_version IS NULL
                THEN 'no contract in force on ' || to_char(d.on_date, 'YYYY-MM-DD')
            WHEN NOT d.billed THEN 'the contract has no GMV share'
            WHEN d.fx_rate IS NULL
                THEN format('no FX rate %%s->%%s for %%s', d.currency, d.contract_currency,
                            to_char(d.on_date, 'YYYY-MM-DD'))
       END AS reason,
       d.asset_id,
       CASE WHEN d.asset_id IS NOT NULL THEN d.contract_version END AS contract_version,
       CASE WHEN d.asset_id IS NOT NULL AND d.contract_version IS NOT NULL
            THEN d.contract_currency END AS contract_currency,
       CASE WHEN d.status = 'accrued' THEN d.fx_rate END AS fx_rate,
       CASE WHEN d.status = 'accrued' THEN d.fx_inverse END AS fx_inverse,
       CASE WHEN d.status = 'accrued' THEN d.rate END AS rate,
       CASE WHEN d.status = 'accrued' AND d.fx_inverse
                THEN round_half_even(d.net, d.fx_rate, d.digits)
            WHEN d.status = 'accrued'
                THEN round_half_even(d.net * d.fx_rate, 1, d.digits) END AS net_gmv,
       CASE WHEN d.status = 'accrued' AND d.fx_inverse
                THEN round_half_even(d.net * d.rate, d.fx_rate, d.digits)
            WHEN d.status = 'accrued'
                THEN round_half_even(d.net * d.fx_rate * d.rate, 1, d.digits) END AS commission
FROM decided d;

-- name: lines_on_contract_versions
-- A decided line that needs one of some contract versions (those that failed to parse).
SELECT r.merchant_id, r.contract_version
FROM line_results r
JOIN unnest(%(merchant_ids)s::text[], %(versions)s::int[]) AS v(merchant_id, version)
  ON r.merchant_id = v.merchant_id AND r.contract_version = v.version
LIMIT 1;

-- name: stage_commissions
-- One ledger entry per accrued line with a commission, into the ledger's bulk path
-- (billing.ledger.post_staged), worded as billing.charges.commission_entry.
INSERT INTO ledger_bulk_entries (idempotency_key, merchant_id, code, effective_date, event)
SELECT commission_key, merchant_id,
       CASE WHEN commission > 0 THEN 'gmv_commission' ELSE 'gmv_clawback' END, on_date,
       jsonb_build_object('order_id', order_id, 'line_id', line_id, 'asset_id', asset_id,
                          'net_gmv', net_gmv::text, 'rate', rate::text)
FROM line_results WHERE status = 'accrued' AND commission <> 0;
INSERT INTO ledger_bulk_postings (idempotency_key, kind, asset, side, amount)
SELECT r.commission_key, k.kind, r.contract_currency, k.side, abs(r.commission)
FROM line_results r
JOIN (VALUES (true, 'receivable', 'D'), (true, 'revenue_gmv_share', 'C'),
             (false, 'commission_clawback', 'D'), (false, 'receivable', 'C'))
     AS k(owed, kind, side) ON k.owed = (r.commission > 0)
WHERE r.status = 'accrued' AND r.commission <> 0;

-- name: line_results_summary
-- What the pass decided, by state, reason and contract currency.
SELECT status, reason, contract_currency, count(*) AS lines, sum(commission) AS commission
FROM line_results GROUP BY status, reason, contract_currency;

-- name: moved_lines
-- Lines whose commission was posted now into a later month (theirs is closed).
SELECT r.order_id, r.line_id, b.effective_date, b.adjusts_period
FROM line_results r JOIN ledger_bulk_results b ON b.idempotency_key = r.commission_key
WHERE b.created AND b.adjusts_period IS NOT NULL
ORDER BY r.order_id, r.line_id;

-- name: apply_line_results
-- Move the lines already in order_lines to their new state in one statement, with their
-- commission's transaction.
UPDATE order_lines l
SET status = r.status, reason = r.reason, asset_id = r.asset_id,
    contract_version = r.contract_version, contract_currency = r.contract_currency,
    fx_rate = r.fx_rate, fx_inverse = coalesce(r.fx_inverse, false), net_gmv = r.net_gmv,
    rate = r.rate, commission = r.commission, txn_id = b.txn_id
FROM line_results r
LEFT JOIN ledger_bulk_results b ON b.idempotency_key = r.commission_key
WHERE l.order_id = r.order_id AND l.line_id = r.line_id AND NOT r.is_new;

-- name: insert_new_lines
-- Insert the imported file's new lines with the state just decided and their
-- commission's transaction: each line is written once (inserting them as 'new' and then
-- updating every one wrote each line, and each of its index entries, twice). A line
-- another import inserted meanwhile is left as it is (its commission key is the same).
INSERT INTO order_lines
    (order_id, line_id, merchant_id, ordered_at, customer_key, product_id, quantity,
     unit_price, discount, currency, click_id, status, reason, asset_id, contract_version,
     contract_currency, fx_rate, fx_inverse, net_gmv, rate, commission, txn_id)
SELECT n.order_id, n.line_id, n.merchant_id, n.ordered_at, n.customer_key, n.product_id,
       n.quantity, n.unit_price, n.discount, n.currency, n.click_id,
       coalesce(r.status, n.status), r.reason, r.asset_id, r.contract_version,
       r.contract_currency, r.fx_rate, coalesce(r.fx_inverse, false), r.net_gmv, r.rate,
       r.commission, b.txn_id
FROM new_order_lines n
LEFT JOIN line_results r ON r.order_id = n.order_id AND r.line_id = n.line_id AND r.is_new
LEFT JOIN ledger_bulk_results b ON b.idempotency_key = r.commission_key
ON CONFLICT (order_id, line_id) DO NOTHING;

-- name: no_new_order_lines
-- An empty new_order_lines, which an orders import then fills (set_aside_new_order_lines),
-- and order_lines_and_new, what the attribution pass reads: the lines in order_lines and
-- the new lines of the file being imported, not inserted yet (they are inserted once,
-- with their state: insert_new_lines). Both go at COMMIT. A pass that imports no order
-- lines (or runs after they were inserted) starts here, and so reads order_lines alone.
DROP VIEW IF EXISTS pg_temp.order_lines_and_new;
DROP TABLE IF EXISTS pg_temp.new_order_lines;
CREATE TEMP TABLE new_order_lines (LIKE order_lines INCLUDING DEFAULTS) ON COMMIT DROP;
CREATE TEMP VIEW order_lines_and_new AS
SELECT order_id, line_id, merchant_id, ordered_at, customer_key, quantity, unit_price,
       discount, currency, click_id, status, false AS is_new
FROM order_lines
UNION ALL
SELECT order_id, line_id, merchant_id, ordered_at, customer_key, quantity, unit_price,
       discount, currency, click_id, status, true
FROM new_order_lines;

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
