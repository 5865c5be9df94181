-- name: insert_token_lot
-- A token pack bought: its tokens and the money to recognise as they are used.
INSERT INTO token_lots (merchant_id, txn_id, currency, tokens, price, tokens_left, deferred_left)
VALUES (%(merchant_id)s, %(txn_id)s, %(currency)s, %(tokens)s, %(price)s, %(tokens)s, %(price)s)
ON CONFLICT (txn_id) DO NOTHING;

-- name: open_token_lots
-- A merchant's lots with tokens left, oldest first, locked for consumption.
SELECT * FROM token_lots
WHERE merchant_id = %(merchant_id)s AND tokens_left > 0
ORDER BY lot_id
FOR UPDATE;

-- name: consume_token_lot
-- Take tokens and their deferred money out of a lot.
UPDATE token_lots
SET tokens_left = tokens_left - %(tokens)s, deferred_left = deferred_left - %(amount)s
WHERE lot_id = %(lot_id)s;

-- name: lock_wallet
-- The merchant's token wallet, locked while a hold is placed or settled.
SELECT account_id, balance, held FROM ledger_accounts
WHERE merchant_id = %(merchant_id)s AND kind = 'wallet' AND asset = 'TOKEN'
FOR UPDATE;

-- name: change_wallet_hold
-- Reserve (positive) or release (negative) tokens on the wallet.
UPDATE ledger_accounts SET held = held + %(tokens)s
WHERE merchant_id = %(merchant_id)s AND kind = 'wallet' AND asset = 'TOKEN';

-- name: get_hold
-- One hold, locked.
SELECT * FROM token_holds WHERE hold_key = %(hold_key)s FOR UPDATE;

-- name: insert_hold
-- Record a hold placed for a render.
INSERT INTO token_holds (hold_key, merchant_id, tokens)
VALUES (%(hold_key)s, %(merchant_id)s, %(tokens)s);

-- name: settle_hold
-- Mark a hold committed (with its usage transaction) or voided.
UPDATE token_holds SET status = %(status)s, txn_id = %(txn_id)s, settled_at = now()
WHERE hold_key = %(hold_key)s;

-- name: usage_value
-- What committed renders used, per asset: their tokens (the wallet's debits, asset
-- TOKEN) and the prepaid money recognised for them (revenue_tokens credits).
SELECT p.asset, sum(p.amount) AS amount
FROM ledger_transactions t
JOIN ledger_postings p ON p.txn_id = t.txn_id
JOIN ledger_accounts a ON a.account_id = p.account_id
WHERE t.idempotency_key = ANY(%(usage_keys)s::text[])
  AND ((a.kind = 'revenue_tokens' AND p.side = 'C') OR (a.kind = 'wallet' AND p.side = 'D'))
GROUP BY p.asset
ORDER BY p.asset;
