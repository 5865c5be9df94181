-- 0009: the ledger's balance rule, checked at COMMIT (after django-hordak's check_leg).
-- A ledger transaction commits only with postings that balance per asset (credits equal
-- debits in each asset), and with at least one posting: two deferred constraint triggers
-- run when the database transaction commits, whatever path wrote the rows. Checking at
-- commit rather than per statement lets a transaction's postings arrive in several
-- statements, and refuses a header left without postings.

-- Supersedes the per-statement balance and "at least two postings" checks of 0002
-- (one positive posting alone cannot balance); the statement trigger keeps checking
-- references and moving balances.
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
    RETURN NULL;
END $$;

-- As in 0002, now naming the rule (ledger_open_period) so billing can report it as such.
CREATE OR REPLACE FUNCTION ledger_transactions_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
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
    RETURN NULL;
END $$;

-- Both triggers raise check_violation naming the constraint ledger_balanced, so that
-- billing can tell this rule's refusal from any other.
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    found_postings bigint;
    unbalanced text;
BEGIN
    SELECT coalesce(sum(postings), 0), min(asset) FILTER (WHERE net <> 0)
    INTO found_postings, unbalanced
    FROM (SELECT asset, count(*) AS postings,
                 sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS net
          FROM ledger_postings WHERE txn_id = NEW.txn_id GROUP BY asset) per_asset;
    IF found_postings = 0 THEN
        RAISE EXCEPTION 'ledger transaction % has no postings', NEW.txn_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_balanced';
    END IF;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %', NEW.txn_id, unbalanced
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_balanced';
    END IF;
    RETURN NULL;
END $$;

-- A new header must have balanced postings by commit (NEW.txn_id is the header's id).
CREATE CONSTRAINT TRIGGER ledger_transactions_balanced
AFTER INSERT ON ledger_transactions DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

-- A posting added to any transaction, new or old, leaves it balanced by commit.
CREATE CONSTRAINT TRIGGER ledger_postings_balanced
AFTER INSERT ON ledger_postings DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
