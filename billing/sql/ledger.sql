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
-- Transactions already posted under some idempotency keys.
SELECT txn_id, idempotency_key, content_hash, effective_date, adjusts_period
FROM ledger_transactions WHERE idempotency_key = ANY(%(keys)s::text[]);

-- name: closed_periods
-- Closed months of some merchants.
SELECT merchant_id, period FROM ledger_periods WHERE merchant_id = ANY(%(merchant_ids)s::text[]);

-- name: create_transaction_staging
-- Per-session scratch table for a batch of transactions on their way in.
CREATE TEMP TABLE IF NOT EXISTS ledger_staging_transactions (
    idempotency_key text, content_hash text, merchant_id text, code text,
    effective_date date, adjusts_period date, reverses_txn_id bigint, event jsonb
) ON COMMIT DELETE ROWS;

-- name: clear_transaction_staging
-- Empty the staging table left by an earlier batch in this same transaction.
TRUNCATE ledger_staging_transactions;

-- name: copy_transaction_staging
-- Bulk load of a batch into the staging table.
COPY ledger_staging_transactions FROM STDIN;

-- name: insert_staged_transactions
-- The staged batch in one statement; keys posted meanwhile by another process are skipped.
INSERT INTO ledger_transactions (idempotency_key, content_hash, merchant_id, code,
                                 effective_date, adjusts_period, reverses_txn_id, event)
SELECT * FROM ledger_staging_transactions
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING txn_id, idempotency_key;

-- name: copy_postings
-- All postings of a batch in one COPY: the statement trigger checks balance per transaction.
COPY ledger_postings (txn_id, account_id, asset, minor_units, side, amount) FROM STDIN;

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
-- Fire the deferred balance triggers (migration 0009) for what this transaction posted.
SET CONSTRAINTS ledger_transactions_balanced, ledger_postings_balanced IMMEDIATE;

-- name: check_ledger_balance_at_commit
-- Back to the default: later postings in this transaction are checked at COMMIT.
SET CONSTRAINTS ledger_transactions_balanced, ledger_postings_balanced DEFERRED;
