-- 0020: the balance rule of 0009, checked once per ledger transaction, in one query.
-- 0009 made PostgreSQL refuse, at COMMIT, a ledger transaction whose postings do not
-- balance per asset or that has none, with two deferred row-level constraint triggers:
-- one trigger call per posting and per header, which doubled the cost of bulk posting.
-- The rule is the same here and still enforced by PostgreSQL whatever path writes the
-- rows; what changes is how it is scheduled. The statement-level triggers on headers
-- and postings queue the ids of the ledger transactions each statement touched, and
-- mark the database transaction as having checks to run (one row per database
-- transaction); a deferred constraint trigger on that mark runs once at COMMIT (or at
-- SET CONSTRAINTS ledger_balanced IMMEDIATE) and checks every queued ledger transaction
-- in one set-based query.

-- Ids of ledger transactions to check before this database transaction commits. Rows
-- never outlive their database transaction (the check deletes them, a refusal rolls
-- them back), so each transaction sees only its own; unlogged because none survive.
CREATE UNLOGGED TABLE ledger_balance_pending (txn_id bigint NOT NULL);

-- One row per database transaction that has queued checks: inserting it queues the
-- deferred check once; the check deletes it, so later postings queue it again.
CREATE UNLOGGED TABLE ledger_balance_checks (xact xid8 PRIMARY KEY);

CREATE FUNCTION ledger_balance_queue(txn_ids bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ledger_balance_pending SELECT unnest(txn_ids);
    INSERT INTO ledger_balance_checks VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
$$;

-- As in 0009 (references checked, balances moved per statement), and the touched ledger
-- transactions queued for the balance check.
CREATE OR REPLACE FUNCTION ledger_postings_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.posting_id INTO bad
    FROM new_postings n
    LEFT JOIN ledger_transactions t ON t.txn_id = n.txn_id
    LEFT JOIN ledger_accounts a
      ON a.account_id = n.account_id AND a.asset = n.asset AND a.merchant_id = t.merchant_id
    LEFT JOIN ledger_assets s ON s.code = n.asset AND s.minor_units = n.minor_units
    WHERE t.txn_id IS NULL OR a.account_id IS NULL OR s.code IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger posting % names a missing transaction, an account of another '
            'merchant or asset, or the wrong minor units', bad.posting_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    UPDATE ledger_accounts a
    SET balance = a.balance + d.delta
    FROM (SELECT account_id, sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS delta
          FROM new_postings GROUP BY account_id) d
    WHERE a.account_id = d.account_id;
    PERFORM ledger_balance_queue(array(SELECT DISTINCT txn_id FROM new_postings));
    RETURN NULL;
END $$;

-- Headers' references are checked per statement too, like postings' in 0002, instead of
-- by row-level foreign keys (a quarter of the cost of inserting a header). Nothing is
-- lost: headers are never deleted or updated (append-only), and a merchant with
-- transactions has ledger accounts (every transaction has postings, every posting an
-- account of its merchant), whose foreign key keeps the merchant from being deleted.
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_merchant_id_fkey;
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_reverses_txn_id_fkey;

-- As in 0009 (closed periods refused), with the references checked, and every new header
-- queued for the balance check (a header without postings is refused at commit).
CREATE OR REPLACE FUNCTION ledger_transactions_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.txn_id INTO bad
    FROM new_transactions n
    LEFT JOIN merchants m ON m.merchant_id = n.merchant_id
    LEFT JOIN ledger_transactions r ON r.txn_id = n.reverses_txn_id
    WHERE m.merchant_id IS NULL OR (n.reverses_txn_id IS NOT NULL AND r.txn_id IS NULL)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % names a missing merchant or reverses a missing '
            'transaction', bad.txn_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT t.txn_id, t.effective_date INTO bad
    FROM new_transactions t
    JOIN ledger_periods p
      ON p.merchant_id = t.merchant_id AND p.period = date_trunc('month', t.effective_date)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % is dated % in a closed period',
            bad.txn_id, bad.effective_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_open_period';
    END IF;
    PERFORM ledger_balance_queue(array(SELECT txn_id FROM new_transactions));
    RETURN NULL;
END $$;

-- Every queued ledger transaction has postings and they balance per asset; raises
-- check_violation naming the constraint ledger_balanced, as 0009 did, so that billing
-- can tell this rule's refusal from any other. Reports the lowest offending id.
CREATE FUNCTION ledger_check_queued_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    WITH queued AS (DELETE FROM ledger_balance_pending RETURNING txn_id),
    per_asset AS (
        SELECT k.txn_id, p.asset, count(p.posting_id) AS postings,
               sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END) AS net
        FROM (SELECT DISTINCT txn_id FROM queued) k
        LEFT JOIN ledger_postings p ON p.txn_id = k.txn_id
        GROUP BY k.txn_id, p.asset)
    SELECT txn_id, asset, postings INTO bad FROM per_asset
    WHERE postings = 0 OR net <> 0
    ORDER BY txn_id, asset LIMIT 1;
    IF FOUND AND bad.postings = 0 THEN
        RAISE EXCEPTION 'ledger transaction % has no postings', bad.txn_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_balanced';
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %', bad.txn_id, bad.asset
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_balanced';
    END IF;
    DELETE FROM ledger_balance_checks WHERE xact = NEW.xact;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_balanced
AFTER INSERT ON ledger_balance_checks DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION ledger_check_queued_balances();

-- The row-level checks of 0009 are replaced by the one above.
DROP TRIGGER ledger_transactions_balanced ON ledger_transactions;
DROP TRIGGER ledger_postings_balanced ON ledger_postings;
DROP FUNCTION ledger_check_balanced();
