-- name: import_memory
-- Memory for this import's sorts and hashes, for its transaction only: a file's rows
-- are sorted and hashed whole (duplicate checks, the insert in index order, the
-- attribution and commission joins), and with the default 4 MB each of those spills to
-- disk in many runs. 256 MB holds a million staged rows; the server's setting is left
-- as it is for everything else. No JIT: the big statements of an import are estimated
-- costly (millions of rows) but spend their time in index lookups and writes, and
-- compiling them cost about 0.4 s each (measured) for nothing.
SET LOCAL work_mem = '256MB';
SET LOCAL jit = off;

-- name: create_interactions_staging
-- Scratch table for one interactions file on its way in (dropped at commit, or
-- replaced when an enclosing transaction runs several files).
DROP TABLE IF EXISTS pg_temp.stage_interactions;
CREATE TEMP TABLE stage_interactions (
    row_no int, event_id text, merchant_id text, asset_id bigint, kind text,
    customer_key text, occurred_at timestamptz, click_id text
) ON COMMIT DROP;

-- name: interactions_errors
-- Rows that cannot be imported: unknown merchant, an asset of another merchant, an id
-- seen before (or twice in the file) with other content. Only the rows of ids given
-- more than once are compared with each other (sorting every row by all its columns
-- took most of the query). Planned with the staged table's statistics (stage).
WITH repeated AS (
    SELECT event_id FROM stage_interactions GROUP BY event_id HAVING count(*) > 1
), twice AS (
    SELECT row_no FROM (
        SELECT s.row_no, count(*) OVER (PARTITION BY s.event_id) AS rows_of_id,
               count(*) OVER (PARTITION BY s.event_id, s.merchant_id, s.asset_id, s.kind,
                                           s.customer_key, s.occurred_at, s.click_id) AS same
        FROM stage_interactions s JOIN repeated r ON r.event_id = s.event_id
    ) x
    WHERE same < rows_of_id
), checked AS (
    SELECT s.row_no,
           CASE
             WHEN m.merchant_id IS NULL THEN 'merchant_id'
             WHEN a.asset_id IS NULL THEN 'asset_id'
             WHEN t.event_id IS NOT NULL
                  AND (t.merchant_id, t.asset_id, t.kind, t.customer_key, t.occurred_at, t.click_id)
                      IS DISTINCT FROM
                      (s.merchant_id, s.asset_id, s.kind, s.customer_key, s.occurred_at, s.click_id)
               THEN 'event_id'
             WHEN w.row_no IS NOT NULL THEN 'event_id'
           END AS field,
           s.event_id, s.merchant_id, s.asset_id, t.event_id AS stored
    FROM stage_interactions s
    LEFT JOIN merchants m ON m.merchant_id = s.merchant_id
    LEFT JOIN assets a ON a.asset_id = s.asset_id AND a.merchant_id = s.merchant_id
    LEFT JOIN interactions t ON t.event_id = s.event_id
    LEFT JOIN twice w ON w.row_no = s.row_no
)
SELECT row_no, field,
       CASE field
         WHEN 'merchant_id' THEN format('no merchant %%s', merchant_id)
         WHEN 'asset_id' THEN format('asset %%s is not an asset of merchant %%s', asset_id, merchant_id)
         WHEN 'event_id' THEN CASE WHEN stored IS NOT NULL
             THEN format('event %%s was imported before with other content', event_id)
             ELSE format('event %%s appears twice with different content', event_id) END
       END AS problem
FROM checked WHERE field IS NOT NULL ORDER BY row_no LIMIT %(limit)s;

-- name: insert_new_interactions
-- Every staged event, when none of them is in interactions yet and none is repeated in
-- the file (the common case): a plain insert, without ON CONFLICT's check and
-- speculative insertion per row (3.0 s instead of 3.1 to 7.2 s for 500,000 events,
-- measured). Run in a savepoint: a unique violation falls back to
-- insert_staged_interactions, which skips the events already there.
INSERT INTO interactions
    (event_id, merchant_id, asset_id, kind, customer_key, occurred_at, click_id)
SELECT event_id, merchant_id, asset_id, kind, customer_key, occurred_at, click_id
FROM stage_interactions;

-- name: staged_interactions_by_merchant
-- Staged events per merchant (all new, after insert_new_interactions).
SELECT merchant_id, count(*) AS new FROM stage_interactions GROUP BY merchant_id;

-- name: insert_staged_interactions
-- New events only: a replayed file inserts nothing (nor does a row repeated in the
-- file: DO NOTHING also skips rows the same statement inserted). New rows per merchant.
WITH inserted AS (
    INSERT INTO interactions
        (event_id, merchant_id, asset_id, kind, customer_key, occurred_at, click_id)
    SELECT event_id, merchant_id, asset_id, kind, customer_key, occurred_at, click_id
    FROM stage_interactions
    ON CONFLICT (event_id) DO NOTHING
    RETURNING merchant_id)
SELECT merchant_id, count(*) AS new FROM inserted GROUP BY merchant_id;

-- name: create_orders_staging
-- Scratch table for one orders file on its way in (dropped at commit, or
-- replaced when an enclosing transaction runs several files).
DROP TABLE IF EXISTS pg_temp.stage_orders;
CREATE TEMP TABLE stage_orders (
    row_no int, order_id text, line_id text, merchant_id text, ordered_at timestamptz,
    customer_key text, product_id text, quantity int, unit_price numeric, discount numeric,
    currency text, click_id text
) ON COMMIT DROP;

-- name: orders_errors
-- Rows that cannot be imported: unknown merchant, a discount above the line's amount,
-- lines of one order that disagree on who ordered when (attribution is per order), an
-- id seen before or twice with other content. Only the rows of lines given more than
-- once are compared with each other, and an order's lines are compared by one grouping
-- (four window sorts over every row took most of the query).
WITH staged AS (
    SELECT s.*, coalesce(s.discount, 0) AS net_discount FROM stage_orders s
), known AS (
    SELECT s.order_id, min(o.merchant_id) AS merchant_id, min(o.ordered_at) AS ordered_at,
           min(o.customer_key) AS customer_key, min(o.click_id) AS click_id
    FROM (SELECT DISTINCT order_id FROM stage_orders) s
    JOIN order_lines o ON o.order_id = s.order_id
    GROUP BY s.order_id
), repeated AS (
    SELECT order_id, line_id FROM stage_orders GROUP BY order_id, line_id HAVING count(*) > 1
), twice AS (
    SELECT row_no FROM (
        SELECT s.row_no, count(*) OVER (PARTITION BY s.order_id, s.line_id) AS rows_of_line,
               count(*) OVER (PARTITION BY s.order_id, s.line_id, s.merchant_id, s.ordered_at,
                                           s.customer_key, s.product_id, s.quantity,
                                           s.unit_price, coalesce(s.discount, 0), s.currency,
                                           s.click_id) AS same
        FROM stage_orders s
        JOIN repeated r ON r.order_id = s.order_id AND r.line_id = s.line_id
    ) x
    WHERE same < rows_of_line
), split AS (
    -- orders whose lines in the file disagree (the first three are required: not null)
    SELECT order_id FROM stage_orders GROUP BY order_id
    HAVING min(merchant_id) <> max(merchant_id) OR min(ordered_at) <> max(ordered_at)
        OR min(customer_key) <> max(customer_key) OR min(click_id) <> max(click_id)
        OR count(click_id) NOT IN (0, count(*))
), checked AS (
    SELECT s.row_no, s.order_id, s.line_id, s.merchant_id, t.order_id AS stored,
           CASE
             WHEN m.merchant_id IS NULL THEN 'merchant_id'
             WHEN s.net_discount > s.quantity * s.unit_price THEN 'discount'
             WHEN t.order_id IS NOT NULL
                  AND (t.merchant_id, t.ordered_at, t.customer_key, t.product_id, t.quantity,
                       t.unit_price, t.discount, t.currency, t.click_id)
                      IS DISTINCT FROM
                      (s.merchant_id, s.ordered_at, s.customer_key, s.product_id, s.quantity,
                       s.unit_price, s.net_discount, s.currency, s.click_id)
               THEN 'line_id'
             WHEN w.row_no IS NOT NULL THEN 'line_id'
             WHEN (k.order_id IS NOT NULL
                   AND (k.merchant_id, k.ordered_at, k.customer_key, k.click_id)
                       IS DISTINCT FROM (s.merchant_id, s.ordered_at, s.customer_key, s.click_id))
                  OR p.order_id IS NOT NULL
               THEN 'order_id'
           END AS field
    FROM staged s
    LEFT JOIN merchants m ON m.merchant_id = s.merchant_id
    LEFT JOIN order_lines t ON t.order_id = s.order_id AND t.line_id = s.line_id
    LEFT JOIN known k ON k.order_id = s.order_id
    LEFT JOIN twice w ON w.row_no = s.row_no
    LEFT JOIN split p ON p.order_id = s.order_id
)
SELECT row_no, field,
       CASE field
         WHEN 'merchant_id' THEN format('no merchant %%s', merchant_id)
         WHEN 'discount' THEN 'the discount is more than quantity x unit_price'
         WHEN 'line_id' THEN CASE WHEN stored IS NOT NULL
             THEN format('order %%s line %%s was imported before with other content; '
                         'orders do not change: import a refund instead', order_id, line_id)
             ELSE format('order %%s line %%s appears twice with different content',
                         order_id, line_id) END
         WHEN 'order_id' THEN format('the lines of order %%s disagree on merchant_id, '
             'ordered_at, customer_key or click_id; an order is attributed as a whole', order_id)
       END AS problem
FROM checked WHERE field IS NOT NULL ORDER BY row_no LIMIT %(limit)s;

-- name: set_aside_new_order_lines
-- New lines only (a replayed file has none; a line repeated in the file once), set aside
-- in new_order_lines (made empty by no_new_order_lines): the attribution pass decides
-- their state and inserts them into order_lines once, with it (insert_new_lines).
INSERT INTO new_order_lines
    (order_id, line_id, merchant_id, ordered_at, customer_key, product_id, quantity,
     unit_price, discount, currency, click_id)
SELECT DISTINCT ON (s.order_id, s.line_id)
       s.order_id, s.line_id, s.merchant_id, s.ordered_at, s.customer_key, s.product_id,
       s.quantity, s.unit_price, coalesce(s.discount, 0), s.currency, s.click_id
FROM stage_orders s
WHERE NOT EXISTS (SELECT 1 FROM order_lines o
                  WHERE o.order_id = s.order_id AND o.line_id = s.line_id)
ORDER BY s.order_id, s.line_id;

-- name: analyze_new_order_lines
-- Statistics for the joins that read new_order_lines (a scratch table is never
-- analysed; in a statement of its own so that the planner sees them).
ANALYZE new_order_lines;

-- name: new_order_lines_by_merchant
-- New lines per merchant.
SELECT merchant_id, count(*) AS new FROM new_order_lines GROUP BY merchant_id;

-- name: create_refunds_staging
-- Scratch table for one refunds file on its way in (dropped at commit, or
-- replaced when an enclosing transaction runs several files).
DROP TABLE IF EXISTS pg_temp.stage_refunds;
CREATE TEMP TABLE stage_refunds (
    row_no int, refund_id text, order_id text, line_id text, refunded_at timestamptz,
    quantity int, amount numeric
) ON COMMIT DROP;

-- name: refunds_errors
-- Rows that cannot be imported: a line never imported, neither or both of quantity and
-- amount, a refund before its order, an id seen before or twice with other content, and
-- refunds that together return more than was bought (quantity or net amount).
WITH fresh AS (
    SELECT DISTINCT ON (s.refund_id) s.*
    FROM stage_refunds s
    WHERE NOT EXISTS (SELECT 1 FROM refunds r WHERE r.refund_id = s.refund_id)
    ORDER BY s.refund_id, s.row_no
), per_line AS (
    SELECT f.refund_id,
           sum(coalesce(f.quantity, 0)) OVER w AS new_quantity,
           sum(coalesce(f.amount, 0)) OVER w AS new_amount
    FROM fresh f
    WINDOW w AS (PARTITION BY f.order_id, f.line_id
                 ORDER BY f.refunded_at, length(f.refund_id), f.refund_id)
), before AS (
    SELECT r.order_id, r.line_id, sum(coalesce(r.quantity, 0)) AS quantity,
           sum(coalesce(r.amount, 0)) AS amount
    FROM refunds r JOIN (SELECT DISTINCT order_id, line_id FROM stage_refunds) s USING (order_id, line_id)
    GROUP BY r.order_id, r.line_id
), checked AS (
    SELECT s.row_no, s.refund_id, s.order_id, s.line_id, o.quantity AS bought,
           CASE
             WHEN o.order_id IS NULL THEN 'unknown_line'
             WHEN (s.quantity IS NULL) = (s.amount IS NULL) THEN 'quantity_or_amount'
             WHEN s.refunded_at < o.ordered_at THEN 'before_order'
             WHEN t.refund_id IS NOT NULL
                  AND (t.order_id, t.line_id, t.refunded_at, t.quantity, t.amount)
                      IS DISTINCT FROM (s.order_id, s.line_id, s.refunded_at, s.quantity, s.amount)
               THEN 'changed'
             WHEN count(*) OVER (PARTITION BY s.refund_id) > 1
                  AND count(*) OVER (PARTITION BY s.refund_id, s.order_id, s.line_id,
                                     s.refunded_at, s.quantity, s.amount)
                      < count(*) OVER (PARTITION BY s.refund_id)
               THEN 'twice'
             WHEN p.refund_id IS NOT NULL AND (
                  coalesce(b.quantity, 0) + p.new_quantity > o.quantity
                  OR (coalesce(b.quantity, 0) + p.new_quantity)
                         * (o.quantity * o.unit_price - o.discount)
                     + (coalesce(b.amount, 0) + p.new_amount) * o.quantity
                     > (o.quantity * o.unit_price - o.discount) * o.quantity)
               THEN CASE WHEN s.quantity IS NOT NULL THEN 'over_quantity' ELSE 'over_amount' END
           END AS code
    FROM stage_refunds s
    LEFT JOIN order_lines o ON o.order_id = s.order_id AND o.line_id = s.line_id
    LEFT JOIN refunds t ON t.refund_id = s.refund_id
    LEFT JOIN per_line p ON p.refund_id = s.refund_id
    LEFT JOIN before b ON b.order_id = s.order_id AND b.line_id = s.line_id
)
SELECT row_no,
       CASE code WHEN 'unknown_line' THEN 'line_id' WHEN 'before_order' THEN 'refunded_at'
                 WHEN 'over_amount' THEN 'amount' WHEN 'changed' THEN 'refund_id'
                 WHEN 'twice' THEN 'refund_id' ELSE 'quantity' END AS field,
       CASE code
         WHEN 'unknown_line' THEN format('order %%s line %%s was never imported; '
             'import the order first', order_id, line_id)
         WHEN 'quantity_or_amount' THEN 'give either quantity or amount, not both or neither'
         WHEN 'before_order' THEN 'the refund is dated before its order'
         WHEN 'changed' THEN format('refund %%s was imported before with other content', refund_id)
         WHEN 'twice' THEN format('refund %%s appears twice with different content', refund_id)
         WHEN 'over_quantity' THEN format('refunds of order %%s line %%s would return more '
             'than the %%s bought', order_id, line_id, bought)
         ELSE format('refunds of order %%s line %%s would return more than its net amount',
                     order_id, line_id)
       END AS problem
FROM checked WHERE code IS NOT NULL ORDER BY row_no LIMIT %(limit)s;

-- name: insert_staged_refunds
-- New refunds only, with their net refund in the order's currency (a quantity refunds
-- its share of the line's discount); a replayed file inserts nothing. New rows per merchant.
WITH inserted AS (
    INSERT INTO refunds
        (refund_id, order_id, line_id, merchant_id, refunded_at, quantity, amount, net_refund)
    SELECT DISTINCT ON (s.refund_id)
        s.refund_id, s.order_id, s.line_id, o.merchant_id, s.refunded_at, s.quantity, s.amount,
        coalesce(s.amount,
                 round(s.quantity * (o.quantity * o.unit_price - o.discount) / o.quantity, 12))
    FROM stage_refunds s
    JOIN order_lines o ON o.order_id = s.order_id AND o.line_id = s.line_id
    ORDER BY s.refund_id
    ON CONFLICT (refund_id) DO NOTHING
    RETURNING merchant_id)
SELECT merchant_id, count(*) AS new FROM inserted GROUP BY merchant_id;

-- name: create_fx_staging
-- Scratch table for one FX file on its way in (dropped at commit, or
-- replaced when an enclosing transaction runs several files).
DROP TABLE IF EXISTS pg_temp.stage_fx;
CREATE TEMP TABLE stage_fx (
    row_no int, date date, base text, quote text, rate numeric
) ON COMMIT DROP;

-- name: fx_errors
-- Rows that cannot be imported: a rate of a currency to itself, a rate of zero, a date
-- and pair seen before (or twice) with another rate.
SELECT s.row_no,
       CASE WHEN s.base = s.quote THEN 'quote' ELSE 'rate' END AS field,
       CASE
         WHEN s.base = s.quote THEN format('a rate from %%s to itself', s.base)
         WHEN s.rate = 0 THEN 'a rate must be above zero'
         WHEN t.rate IS NOT NULL AND t.rate <> s.rate
           THEN format('%%s %%s->%%s was imported before as %%s', s.date, s.base, s.quote, t.rate)
         ELSE format('%%s %%s->%%s appears twice with different rates', s.date, s.base, s.quote)
       END AS problem
FROM (SELECT *, min(rate) OVER w <> max(rate) OVER w AS disagree
      FROM stage_fx WINDOW w AS (PARTITION BY date, base, quote)) s
LEFT JOIN fx_rates t ON (t.rate_date, t.base, t.quote) = (s.date, s.base, s.quote)
WHERE s.base = s.quote OR s.rate = 0 OR (t.rate IS NOT NULL AND t.rate <> s.rate) OR s.disagree
ORDER BY s.row_no LIMIT %(limit)s;

-- name: insert_staged_fx
-- New rates only: a replayed file inserts nothing. Rates belong to no merchant.
WITH inserted AS (
    INSERT INTO fx_rates (rate_date, base, quote, rate)
    SELECT DISTINCT ON (date, base, quote) date, base, quote, rate FROM stage_fx
    ORDER BY date, base, quote
    ON CONFLICT DO NOTHING
    RETURNING 1)
SELECT NULL::text AS merchant_id, count(*) AS new FROM inserted;
