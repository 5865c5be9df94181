-- name: lock_merchant_contracts
-- Serialise new contract versions of one merchant until the transaction ends.
SELECT pg_advisory_xact_lock(hashtext('contract:' || %(merchant_id)s));

-- name: latest_contract
-- The merchant's newest contract version.
SELECT version, effective_from FROM contracts
WHERE merchant_id = %(merchant_id)s ORDER BY version DESC LIMIT 1;

-- name: insert_contract
-- Store one contract version.
INSERT INTO contracts (merchant_id, version, effective_from, currency, terms)
VALUES (%(merchant_id)s, %(version)s, %(effective_from)s, %(currency)s, %(terms)s);

-- name: contract_at
-- The version in force on a date: the latest that started on or before it.
SELECT version, terms FROM contracts
WHERE merchant_id = %(merchant_id)s AND effective_from <= %(at)s
ORDER BY effective_from DESC LIMIT 1;
