-- 0026: the postings statement trigger (0023) on a bulk statement of many merchants
-- (issue 21). Such a statement (the commissions of an orders import, posted by
-- post_staged) has consecutive ids but several merchants, and 0023 then looked each
-- transaction up by its primary key: 200,000 index probes for 200,000 commissions, most
-- of the trigger's time. When the ids are dense (the range at most four times the
-- transactions named), the range is read once and hash-joined with the statement's
-- postings; sparse ids (a few reversals of old transactions) are still looked up one by
-- one. Same rules, same messages.

CREATE OR REPLACE FUNCTION ledger_postings_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    account_ids bigint[];
    deltas numeric[];
    merchants text[];
    refused boolean;
    lowest bigint;
    highest bigint;
    txns bigint;
    unbalanced bigint;
    found_txns bigint;
    strangers bigint;
    touched int8multirange;
    nestloop text;
BEGIN
    -- Per account, asset and minor units (a handful of rows per statement): the account
    -- exists in the posting's asset, the minor units are the asset's, and the balance
    -- moves by the statement's credits minus debits.
    SELECT array_agg(d.account_id), array_agg(d.delta), array_agg(DISTINCT a.merchant_id),
           coalesce(bool_or(a.account_id IS NULL OR s.code IS NULL), false)
    INTO account_ids, deltas, merchants, refused
    FROM (SELECT account_id, asset, minor_units,
                 sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS delta
          FROM new_postings GROUP BY account_id, asset, minor_units) d
    LEFT JOIN ledger_accounts a ON a.account_id = d.account_id AND a.asset = d.asset
    LEFT JOIN ledger_assets s ON s.code = d.asset AND s.minor_units = d.minor_units;
    -- Per transaction: how many the statement names, and how many it leaves unbalanced
    -- (one with postings in several assets is left to the check at COMMIT).
    SELECT min(txn_id), max(txn_id), count(*), count(*) FILTER (WHERE mixed OR net <> 0)
    INTO lowest, highest, txns, unbalanced
    FROM (SELECT txn_id, min(asset) <> max(asset) AS mixed,
                 sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS net
          FROM new_postings GROUP BY txn_id) per_txn;
    -- The transactions exist and are of their postings' accounts' merchant. Usual batch:
    -- consecutive ids and one merchant, read as one range of the primary key; dense ids
    -- of several merchants, that range hash-joined; sparse ids, each transaction looked
    -- up, then each (merchant, account) pair.
    IF NOT refused AND cardinality(merchants) = 1 AND highest - lowest + 1 = txns THEN
        SELECT count(*), count(*) FILTER (WHERE merchant_id <> merchants[1])
        INTO found_txns, strangers
        FROM ledger_transactions WHERE txn_id BETWEEN lowest AND highest;
        refused := found_txns <> txns OR strangers > 0;
    ELSIF NOT refused AND highest - lowest + 1 <= 4 * txns THEN
        -- Without nested loops for this query: the range's rows, just written, are not in
        -- the statistics, and the planner would probe the range once per posting.
        nestloop := current_setting('enable_nestloop');
        PERFORM set_config('enable_nestloop', 'off', true);
        SELECT EXISTS (
            SELECT FROM new_postings n
            LEFT JOIN (SELECT t.txn_id, t.merchant_id FROM ledger_transactions t
                       WHERE t.txn_id BETWEEN lowest AND highest) t USING (txn_id)
            LEFT JOIN ledger_accounts a
              ON a.account_id = n.account_id AND a.merchant_id = t.merchant_id
            WHERE a.account_id IS NULL)
        INTO refused;
        PERFORM set_config('enable_nestloop', nestloop, true);
    ELSIF NOT refused THEN  -- sparse ids: each transaction looked up
        WITH txns AS MATERIALIZED (
            SELECT d.txn_id,
                   (SELECT t.merchant_id FROM ledger_transactions t WHERE t.txn_id = d.txn_id)
                       AS merchant_id
            FROM (SELECT DISTINCT txn_id FROM new_postings) d
        )
        SELECT EXISTS (
            SELECT FROM (SELECT DISTINCT x.merchant_id, n.account_id
                         FROM new_postings n JOIN txns x USING (txn_id)) u
            LEFT JOIN ledger_accounts a
              ON a.account_id = u.account_id AND a.merchant_id = u.merchant_id
            WHERE a.account_id IS NULL)
        INTO refused;
    END IF;
    IF refused THEN  -- name the first offending posting
        SELECT n.posting_id INTO bad
        FROM new_postings n
        LEFT JOIN ledger_transactions t ON t.txn_id = n.txn_id
        LEFT JOIN ledger_accounts a
          ON a.account_id = n.account_id AND a.asset = n.asset AND a.merchant_id = t.merchant_id
        LEFT JOIN ledger_assets s ON s.code = n.asset AND s.minor_units = n.minor_units
        WHERE t.txn_id IS NULL OR a.account_id IS NULL OR s.code IS NULL
        ORDER BY n.posting_id LIMIT 1;
        RAISE EXCEPTION 'ledger posting % names a missing transaction, an account of another '
            'merchant or asset, or the wrong minor units', bad.posting_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    UPDATE ledger_accounts a
    SET balance = a.balance + d.delta
    FROM unnest(account_ids, deltas) d(account_id, delta)
    WHERE a.account_id = d.account_id;
    IF unbalanced > 0 THEN
        PERFORM ledger_pending_set('adreel.ledger_unbalanced',
            ledger_pending_ids('adreel.ledger_unbalanced')
            + (SELECT range_agg(int8range(txn_id, txn_id, '[]'))
               FROM (SELECT txn_id FROM new_postings GROUP BY txn_id
                     HAVING min(asset) <> max(asset)
                         OR sum(CASE side WHEN 'C' THEN amount ELSE -amount END) <> 0) u));
    END IF;
    -- headers of this database transaction that now have postings
    IF highest - lowest + 1 = txns THEN  -- consecutive ids: one range
        touched := int8multirange(int8range(lowest, highest, '[]'));
    ELSE
        SELECT range_agg(int8range(txn_id, txn_id, '[]')) INTO touched
        FROM (SELECT DISTINCT txn_id FROM new_postings) d;
    END IF;
    IF ledger_pending_ids('adreel.ledger_headers_unposted') && touched THEN
        PERFORM ledger_pending_set('adreel.ledger_headers_unposted',
                                   ledger_pending_ids('adreel.ledger_headers_unposted') - touched);
    END IF;
    RETURN NULL;
END $$;
