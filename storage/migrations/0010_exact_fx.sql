-- 0010: exact conversion through the opposite FX pair. On a day with only the opposite
-- pair (contract currency -> order currency), a line is converted by dividing by that
-- rate, not by multiplying with a stored, truncated inverse: ``fx_rate`` now always holds
-- a rate as it was imported and ``fx_inverse`` says which way it is applied.
ALTER TABLE order_lines ADD COLUMN fx_inverse boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN order_lines.fx_rate IS
    'the imported rate used to convert the line: order -> contract currency, or with '
    'fx_inverse the opposite pair''s rate, divided by';
COMMENT ON COLUMN order_lines.net_gmv IS
    'net GMV in the contract currency rounded to its minor unit, for reports; commissions, '
    'clawbacks and true-ups are computed from the exact amount and rounded once';

-- A statement finds the line (or refund) behind each commission (clawback) it shows,
-- to tell what is still in its lock period.
CREATE INDEX order_lines_txn ON order_lines (txn_id) WHERE txn_id IS NOT NULL;
CREATE INDEX refunds_txn ON refunds (txn_id) WHERE txn_id IS NOT NULL;
