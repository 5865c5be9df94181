-- name: ensure_ledger_assets
-- Register assets (currencies and TOKEN) with their minor units; replays change nothing.
INSERT INTO ledger_assets (code, minor_units)
SELECT * FROM unnest(%(codes)s::text[], %(minor_units)s::smallint[])
ON CONFLICT (code) DO NOTHING;

-- name: ensure_ledger_accounts
-- Open accounts on first use: one per merchant, kind and asset.
INSERT INTO ledger_accounts (merchant_id, kind, asset)
SELECT * FROM unnest(%(merchant_ids)s::text[], %(kinds)s::text[], %(assets)s::text[])
ON CONFLICT (merchant_id, kind, asset) DO NOTHING;

-- name: find_ledger_accounts
-- Account ids for (merchant, kind, asset) triples.
SELECT a.account_id, a.merchant_id, a.kind, a.asset
FROM ledger_accounts a
JOIN unnest(%(merchant_ids)s::text[], %(kinds)s::text[], %(assets)s::text[]) AS k(m, kd, s)
  ON a.merchant_id = k.m AND a.kind = k.kd AND a.asset = k.s;

-- name: find_transactions_by_key
-- Transactions already posted under some idempotency keys: one probe of the unique index
-- per key (LIMIT 1 keeps the planner from choosing a scan of the whole table, as it does
-- for = ANY of a large array when the table has no statistics yet).
SELECT t.txn_id, t.idempotency_key, t.content_hash, t.effective_date, t.adjusts_period
FROM unnest(%(keys)s::text[]) AS k(key)
CROSS JOIN LATERAL (SELECT * FROM ledger_transactions
                    WHERE idempotency_key = k.key LIMIT 1) AS t;

-- name: closed_periods
-- Closed months of some merchants.
SELECT merchant_id, period FROM ledger_periods WHERE merchant_id = ANY(%(merchant_ids)s::text[]);

-- name: next_txn_ids
-- Ids for a batch of new transactions, drawn from the identity's sequence (one array).
-- The sequence is looked up once (OFFSET 0 keeps the subquery from being inlined into
-- one name look-up per id, which took most of this query's time).
SELECT array(SELECT nextval(s.seq)
             FROM (SELECT pg_get_serial_sequence('ledger_transactions', 'txn_id')::regclass
                   OFFSET 0) s(seq),
                  generate_series(1, %(n)s)) AS txn_ids;

-- name: copy_transactions
-- A batch of new headers straight into the table (text format, see ledger.py); a key
-- posted before, or meanwhile by another process, fails the whole COPY, and the caller
-- stages the batch instead.
COPY ledger_transactions (txn_id, idempotency_key, content_hash, merchant_id, code,
                          effective_date, adjusts_period, reverses_txn_id, event)
FROM STDIN;

-- name: create_transaction_staging
-- Per-session scratch table for a batch of transactions on their way in.
CREATE TEMP TABLE IF NOT EXISTS ledger_staged_headers (
    txn_id bigint, idempotency_key text, content_hash text, merchant_id text, code text,
    effective_date date, adjusts_period date, reverses_txn_id bigint, event jsonb
) ON COMMIT DELETE ROWS;

-- name: clear_transaction_staging
-- Empty the staging table left by an earlier batch in this same transaction.
TRUNCATE ledger_staged_headers;

-- name: copy_transaction_staging
-- Bulk load of a batch into the staging table (text format, as copy_transactions).
COPY ledger_staged_headers FROM STDIN;

-- name: insert_staged_transactions
-- The staged batch in one statement; keys posted meanwhile by another process are skipped.
INSERT INTO ledger_transactions (txn_id, idempotency_key, content_hash, merchant_id, code,
                                 effective_date, adjusts_period, reverses_txn_id, event)
OVERRIDING SYSTEM VALUE
SELECT * FROM ledger_staged_headers
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING txn_id, idempotency_key;

-- name: copy_postings
-- All postings of a batch in one COPY: the statement trigger checks balance per transaction.
COPY ledger_postings (txn_id, account_id, asset, minor_units, side, amount)
FROM STDIN;

-- name: transaction_postings
-- The postings of one transaction, with their accounts.
SELECT t.txn_id, t.merchant_id, t.code, t.effective_date, a.kind, p.asset, p.side, p.amount
FROM ledger_transactions t
JOIN ledger_postings p USING (txn_id)
JOIN ledger_accounts a USING (account_id)
WHERE t.txn_id = %(txn_id)s
ORDER BY p.posting_id;

-- name: account_balances
-- A merchant's accounts with balances and holds.
SELECT kind, asset, balance, held, balance - held AS available
FROM ledger_accounts WHERE merchant_id = %(merchant_id)s ORDER BY kind, asset;

-- name: close_periods
-- Close a month for the merchants given; closing twice is a no-op.
INSERT INTO ledger_periods (merchant_id, period)
SELECT unnest(%(merchant_ids)s::text[]), %(period)s::date
ON CONFLICT DO NOTHING
RETURNING merchant_id;

-- name: verify_balances
-- Accounts whose kept balance differs from credits minus debits of their postings.
SELECT a.account_id, a.merchant_id, a.kind, a.asset, a.balance,
       coalesce(sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END), 0) AS computed
FROM ledger_accounts a LEFT JOIN ledger_postings p USING (account_id)
WHERE %(merchant_id)s::text IS NULL OR a.merchant_id = %(merchant_id)s
GROUP BY a.account_id
HAVING a.balance <> coalesce(sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END), 0);

-- name: verify_transactions
-- Transactions that do not balance per asset, or have fewer than two postings.
SELECT t.txn_id, t.idempotency_key, 'fewer than two postings' AS problem
FROM ledger_transactions t LEFT JOIN ledger_postings p USING (txn_id)
WHERE %(merchant_id)s::text IS NULL OR t.merchant_id = %(merchant_id)s
GROUP BY t.txn_id HAVING count(p.posting_id) < 2
UNION ALL
SELECT p.txn_id, t.idempotency_key, 'does not balance in ' || p.asset
FROM ledger_postings p JOIN ledger_transactions t USING (txn_id)
WHERE %(merchant_id)s::text IS NULL OR t.merchant_id = %(merchant_id)s
GROUP BY p.txn_id, t.idempotency_key, p.asset
HAVING sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END) <> 0;

-- name: verify_holds
-- Wallets whose held tokens differ from their open holds.
SELECT a.merchant_id, a.held, coalesce(h.tokens, 0) AS open_holds
FROM ledger_accounts a
LEFT JOIN (SELECT merchant_id, sum(tokens) AS tokens FROM token_holds
           WHERE status = 'held' GROUP BY merchant_id) h USING (merchant_id)
WHERE a.kind = 'wallet' AND a.held <> coalesce(h.tokens, 0)
  AND (%(merchant_id)s::text IS NULL OR a.merchant_id = %(merchant_id)s);

-- name: check_ledger_balance_now
-- Fire the deferred balance check (migrations 0009, 0020) for what this transaction posted.
SET CONSTRAINTS ledger_balanced IMMEDIATE;

-- name: check_ledger_balance_at_commit
-- Back to the default: later postings in this transaction are checked at COMMIT.
SET CONSTRAINTS ledger_balanced DEFERRED;

-- name: wallet_by_day
-- A merchant's token wallet day by day (the console's chart): tokens credited (packs)
-- and debited (renders) per effective date.
SELECT t.effective_date AS day,
       coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS credited,
       coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS debited
FROM ledger_accounts a
JOIN ledger_postings p ON p.account_id = a.account_id
JOIN ledger_transactions t ON t.txn_id = p.txn_id
WHERE a.merchant_id = %(merchant_id)s AND a.kind = 'wallet'
GROUP BY t.effective_date
ORDER BY t.effective_date;

-- name: open_bulk
-- Scratch tables for entries built in SQL and posted by post_staged (see ledger.py):
-- a caller fills ledger_bulk_entries (each key once) and ledger_bulk_postings, then
-- reads what was posted from ledger_bulk_results. Emptied here and at COMMIT.
CREATE TEMP TABLE IF NOT EXISTS ledger_bulk_entries (
    idempotency_key text PRIMARY KEY, merchant_id text NOT NULL, code text NOT NULL,
    effective_date date NOT NULL, event jsonb NOT NULL DEFAULT '{}', reverses_txn_id bigint
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ledger_bulk_postings (
    idempotency_key text NOT NULL, kind text NOT NULL, asset text NOT NULL,
    side text NOT NULL, amount numeric NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ledger_bulk_prepared (
    idempotency_key text PRIMARY KEY, merchant_id text, code text, effective_date date,
    event jsonb, reverses_txn_id bigint, content_hash text, postings bigint,
    posted_date date, adjusts_period date
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ledger_bulk_results (
    idempotency_key text PRIMARY KEY, txn_id bigint NOT NULL, created boolean NOT NULL,
    effective_date date NOT NULL, adjusts_period date
) ON COMMIT DELETE ROWS;
TRUNCATE ledger_bulk_entries, ledger_bulk_postings, ledger_bulk_prepared, ledger_bulk_results;

-- name: bulk_assets
-- The assets the staged postings name.
SELECT DISTINCT asset FROM ledger_bulk_postings ORDER BY asset;

-- name: prepare_bulk_entries
-- Each staged entry with its content hash (as Entry.content_hash: the postings sorted as
-- Python sorts strings, by code point), its number of postings, and the date it posts
-- on: its own, or the first open month after its month when that month is closed. The
-- scratch tables are analysed first: never vacuumed, they have no statistics otherwise.
ANALYZE ledger_bulk_entries, ledger_bulk_postings;
TRUNCATE ledger_bulk_prepared;
INSERT INTO ledger_bulk_prepared
SELECT e.idempotency_key, e.merchant_id, e.code, e.effective_date, e.event, e.reverses_txn_id,
       encode(sha256(convert_to(concat_ws(E'\x1e', e.merchant_id, e.code,
           to_char(e.effective_date, 'YYYY-MM-DD'), coalesce(e.reverses_txn_id::text, 'None'),
           p.hashed), 'UTF8')), 'hex'),
       coalesce(p.postings, 0),
       coalesce(e.open_month, e.effective_date),
       CASE WHEN e.open_month IS NOT NULL THEN date_trunc('month', e.effective_date)::date END
FROM (
    SELECT s.*,
           CASE WHEN EXISTS (SELECT 1 FROM ledger_periods c
                             WHERE c.merchant_id = s.merchant_id
                               AND c.period = date_trunc('month', s.effective_date)::date)
           THEN (SELECT min(m)::date
                 FROM generate_series(date_trunc('month', s.effective_date) + interval '1 month',
                                      date_trunc('month', s.effective_date)
                                          + interval '1200 months',
                                      interval '1 month') m
                 WHERE NOT EXISTS (SELECT 1 FROM ledger_periods c
                                   WHERE c.merchant_id = s.merchant_id AND c.period = m::date))
           END AS open_month
    FROM ledger_bulk_entries s
) e
LEFT JOIN (
    SELECT idempotency_key, count(*) AS postings,
           string_agg(line, E'\x1e' ORDER BY line COLLATE "C") AS hashed
    FROM (SELECT idempotency_key,
                 concat_ws(E'\x1f', kind, asset, side, amount::text) AS line
          FROM ledger_bulk_postings) lines
    GROUP BY idempotency_key
) p USING (idempotency_key);
ANALYZE ledger_bulk_prepared;

-- name: bulk_problem
-- The first staged entry the ledger refuses, as post_entries' checks would word it.
SELECT problem FROM (
    SELECT e.idempotency_key, 1 AS rule,
           e.idempotency_key || ': a transaction needs at least two postings' AS problem
    FROM ledger_bulk_prepared e WHERE e.postings < 2
    UNION ALL
    SELECT p.idempotency_key, 2, p.idempotency_key || ': amount ' || p.amount || ' must be positive'
    FROM ledger_bulk_postings p WHERE p.amount <= 0
    UNION ALL
    SELECT p.idempotency_key, 3, p.idempotency_key || ': side ''' || p.side || ''' must be D or C'
    FROM ledger_bulk_postings p WHERE p.side NOT IN ('D', 'C')
    UNION ALL
    SELECT p.idempotency_key, 4,
           format('%%s: %%s %%s has more decimals than %%s''s %%s-digit minor unit',
                  p.idempotency_key, p.amount, p.asset, p.asset, s.minor_units)
    FROM ledger_bulk_postings p JOIN ledger_assets s ON s.code = p.asset
    WHERE p.amount <> round(p.amount, s.minor_units)
    UNION ALL
    SELECT idempotency_key, 5,
           format('%%s: postings do not balance in %%s (off by %%s)', idempotency_key, asset,
                  sum(CASE side WHEN 'C' THEN amount ELSE -amount END))
    FROM ledger_bulk_postings GROUP BY idempotency_key, asset
    HAVING sum(CASE side WHEN 'C' THEN amount ELSE -amount END) <> 0
    UNION ALL
    SELECT p.idempotency_key, 6,
           format('%%s: %%s falls in %%s, which is closed for merchant %%s', p.idempotency_key,
                  to_char(p.effective_date, 'YYYY-MM-DD'), to_char(p.adjusts_period, 'YYYY-MM'),
                  p.merchant_id)
    FROM ledger_bulk_prepared p WHERE p.adjusts_period IS NOT NULL AND %(refuse_late)s
) problems
ORDER BY rule, idempotency_key COLLATE "C" LIMIT 1;

-- name: find_bulk_posted
-- Staged keys posted before (or meanwhile by another process), not yet in the results;
-- conflict: the content differs, and the caller refuses the batch.
WITH found AS (
    INSERT INTO ledger_bulk_results
    SELECT p.idempotency_key, t.txn_id, false, t.effective_date, t.adjusts_period
    FROM ledger_bulk_prepared p
    JOIN ledger_transactions t ON t.idempotency_key = p.idempotency_key
    WHERE NOT EXISTS (SELECT 1 FROM ledger_bulk_results r
                      WHERE r.idempotency_key = p.idempotency_key)
    RETURNING idempotency_key, txn_id
)
SELECT f.idempotency_key, f.txn_id
FROM found f
JOIN ledger_bulk_prepared p USING (idempotency_key)
JOIN ledger_transactions t ON t.txn_id = f.txn_id
WHERE t.content_hash <> p.content_hash
ORDER BY f.idempotency_key COLLATE "C" LIMIT 1;

-- name: ensure_bulk_accounts
-- Open the accounts the staged postings need.
INSERT INTO ledger_accounts (merchant_id, kind, asset)
SELECT DISTINCT e.merchant_id, p.kind, p.asset
FROM ledger_bulk_postings p JOIN ledger_bulk_prepared e USING (idempotency_key)
ON CONFLICT (merchant_id, kind, asset) DO NOTHING;

-- name: insert_bulk_transactions
-- The headers of the staged entries not posted before, in one statement; keys posted
-- meanwhile by another process are skipped (find_bulk_posted then compares them).
WITH inserted AS (
    INSERT INTO ledger_transactions (idempotency_key, content_hash, merchant_id, code,
                                     effective_date, adjusts_period, reverses_txn_id, event)
    SELECT p.idempotency_key, p.content_hash, p.merchant_id, p.code, p.posted_date,
           p.adjusts_period, p.reverses_txn_id, p.event
    FROM ledger_bulk_prepared p
    WHERE NOT EXISTS (SELECT 1 FROM ledger_bulk_results r
                      WHERE r.idempotency_key = p.idempotency_key)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING txn_id, idempotency_key, effective_date, adjusts_period
)
INSERT INTO ledger_bulk_results
SELECT idempotency_key, txn_id, true, effective_date, adjusts_period FROM inserted;

-- name: analyze_bulk_results
-- Statistics for the results table (a scratch table is never vacuumed or analysed).
ANALYZE ledger_bulk_results;

-- name: insert_bulk_postings
-- The postings of the headers just inserted, in one statement (the statement trigger
-- checks references and moves balances once for the batch), in transaction order so
-- that the primary key (txn_id, posting_id) grows at its end. The lines are joined
-- first, on the scratch tables' statistics, and then to the batch's merchants'
-- accounts, looked up once: ledger_accounts' statistics may not know the accounts just
-- opened, and an estimate of one account turned each line into an index probe.
-- Run after analyze_bulk_results.
WITH lines AS MATERIALIZED (
    SELECT r.txn_id, e.merchant_id, p.kind, p.asset, p.side, p.amount
    FROM ledger_bulk_results r
    JOIN ledger_bulk_prepared e USING (idempotency_key)
    JOIN ledger_bulk_postings p USING (idempotency_key)
    WHERE r.created
), accounts AS MATERIALIZED (
    SELECT a.account_id, a.merchant_id, a.kind, a.asset, s.minor_units
    FROM ledger_accounts a
    JOIN ledger_assets s ON s.code = a.asset
    WHERE a.merchant_id IN (SELECT DISTINCT merchant_id FROM ledger_bulk_prepared)
)
INSERT INTO ledger_postings (txn_id, account_id, asset, minor_units, side, amount)
SELECT l.txn_id, a.account_id, l.asset, a.minor_units, l.side, l.amount
FROM lines l
JOIN accounts a ON a.merchant_id = l.merchant_id AND a.kind = l.kind AND a.asset = l.asset
ORDER BY l.txn_id;

-- name: bulk_summary
-- How many staged entries were posted now and before.
SELECT count(*) FILTER (WHERE created) AS created, count(*) FILTER (WHERE NOT created) AS replayed
FROM ledger_bulk_results;

-- name: bulk_moved
-- Entries posted now into a later month than their own (theirs is closed).
SELECT idempotency_key, txn_id, effective_date, adjusts_period FROM ledger_bulk_results
WHERE created AND adjusts_period IS NOT NULL ORDER BY idempotency_key COLLATE "C";
