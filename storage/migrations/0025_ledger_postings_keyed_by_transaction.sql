-- 0025: one index less to keep up per posting (issue 21).
-- A posting is found by its transaction (statements, reversals, the balance check at
-- COMMIT) or by its account (balances, history), never by posting_id alone. The primary
-- key becomes (txn_id, posting_id): it serves every look-up by transaction in posting
-- order, as ledger_postings_txn did, and still names each posting uniquely, so the
-- separate index on txn_id goes. posting_id stays the identity's number, drawn from a
-- session cache of 1000 (no shared sequence lock per row): ids stay unique and, within a
-- transaction, ascending; only the gaps between sessions' ids grow.
ALTER TABLE ledger_postings DROP CONSTRAINT ledger_postings_pkey;
ALTER TABLE ledger_postings ADD CONSTRAINT ledger_postings_pkey PRIMARY KEY (txn_id, posting_id);
DROP INDEX ledger_postings_txn;
ALTER TABLE ledger_postings ALTER COLUMN posting_id SET CACHE 1000;
