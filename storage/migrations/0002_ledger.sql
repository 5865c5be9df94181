-- 0002: contracts and the append-only double-entry ledger.
-- The database itself enforces the ledger's rules, so no code path can break them:
-- postings balance per asset within each transaction, amounts are positive whole minor
-- units of their asset, nothing is updated or deleted, nothing lands in a closed period,
-- balances move only with postings, and a wallet never goes below zero nor holds more
-- than it has.

CREATE TABLE contracts (
    merchant_id    text NOT NULL REFERENCES merchants,
    version        integer NOT NULL CHECK (version > 0),
    effective_from date NOT NULL,
    currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    terms          jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, version),
    UNIQUE (merchant_id, effective_from)
);

-- An asset is a currency (with its minor unit) or TOKEN.
CREATE TABLE ledger_assets (
    code        text PRIMARY KEY CHECK (code ~ '^([A-Z]{3}|TOKEN)$'),
    minor_units smallint NOT NULL CHECK (minor_units BETWEEN 0 AND 4),
    UNIQUE (code, minor_units)
);

CREATE TABLE ledger_accounts (
    account_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_id text NOT NULL REFERENCES merchants,
    kind        text NOT NULL,
    asset       text NOT NULL REFERENCES ledger_assets,
    -- credits minus debits of this account's postings, kept by the postings trigger
    balance     numeric NOT NULL DEFAULT 0,
    -- tokens reserved by renders in flight (wallets only); lowers what is available
    held        numeric NOT NULL DEFAULT 0 CHECK (held >= 0),
    UNIQUE (merchant_id, kind, asset),
    UNIQUE (account_id, asset),
    CONSTRAINT wallet_never_negative CHECK (kind <> 'wallet' OR balance >= 0),
    CONSTRAINT holds_within_balance CHECK (held = 0 OR held <= balance)
);

CREATE TABLE ledger_transactions (
    txn_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    -- hash of what the caller asked to post: the same key with other content is refused
    content_hash    text NOT NULL,
    merchant_id     text NOT NULL REFERENCES merchants,
    code            text NOT NULL,
    effective_date  date NOT NULL,
    -- set on a late event posted into the first open period: the period it belongs to
    adjusts_period  date,
    reverses_txn_id bigint REFERENCES ledger_transactions,
    event           jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_transactions_merchant ON ledger_transactions (merchant_id, effective_date);

-- References are checked per statement by the trigger below rather than by row-level
-- foreign keys: the same guarantee, at a fraction of the cost for bulk postings.
CREATE TABLE ledger_postings (
    posting_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txn_id      bigint NOT NULL,
    account_id  bigint NOT NULL,
    asset       text NOT NULL,
    minor_units smallint NOT NULL,
    side        char(1) NOT NULL CHECK (side IN ('D', 'C')),
    amount      numeric NOT NULL CHECK (amount > 0 AND amount = round(amount, minor_units))
);
CREATE INDEX ledger_postings_txn ON ledger_postings (txn_id);
CREATE INDEX ledger_postings_account ON ledger_postings (account_id);

CREATE TABLE ledger_periods (
    merchant_id text NOT NULL REFERENCES merchants,
    period      date NOT NULL CHECK (period = date_trunc('month', period)),
    closed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, period)
);

-- Token packs bought, consumed first-in first-out so revenue is recognised at the
-- price each token was bought for.
CREATE TABLE token_lots (
    lot_id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_id        text NOT NULL REFERENCES merchants,
    txn_id             bigint NOT NULL UNIQUE REFERENCES ledger_transactions,
    currency           char(3) NOT NULL,
    tokens             bigint NOT NULL CHECK (tokens > 0),
    price              numeric NOT NULL CHECK (price >= 0),
    tokens_left        bigint NOT NULL CHECK (tokens_left BETWEEN 0 AND tokens),
    deferred_left      numeric NOT NULL CHECK (deferred_left BETWEEN 0 AND price)
);
CREATE INDEX token_lots_open ON token_lots (merchant_id, lot_id) WHERE tokens_left > 0;

CREATE TABLE token_holds (
    hold_key    text PRIMARY KEY,
    merchant_id text NOT NULL REFERENCES merchants,
    tokens      bigint NOT NULL CHECK (tokens > 0),
    status      text NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'committed', 'voided')),
    txn_id      bigint REFERENCES ledger_transactions,
    created_at  timestamptz NOT NULL DEFAULT now(),
    settled_at  timestamptz
);

-- Postings arrive one statement per batch of transactions. Checked per statement
-- (cheap in bulk): every posting names an existing transaction, an account of that
-- transaction's merchant in the posting's asset, and the asset's minor units; each
-- transaction's postings in the statement balance per asset and number at least two;
-- then account balances move by the statement's postings.
CREATE FUNCTION ledger_postings_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
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
    SELECT txn_id, asset INTO bad FROM new_postings
    GROUP BY txn_id, asset
    HAVING sum(CASE side WHEN 'C' THEN amount ELSE -amount END) <> 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %', bad.txn_id, bad.asset
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT txn_id INTO bad FROM new_postings GROUP BY txn_id HAVING count(*) < 2 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % has fewer than two postings', bad.txn_id
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE ledger_accounts a
    SET balance = a.balance + d.delta
    FROM (SELECT account_id, sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS delta
          FROM new_postings GROUP BY account_id) d
    WHERE a.account_id = d.account_id;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_postings_balance
AFTER INSERT ON ledger_postings REFERENCING NEW TABLE AS new_postings
FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_after_insert();

CREATE FUNCTION ledger_transactions_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
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
            bad.txn_id, bad.effective_date USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_transactions_open_period
AFTER INSERT ON ledger_transactions REFERENCING NEW TABLE AS new_transactions
FOR EACH STATEMENT EXECUTE FUNCTION ledger_transactions_after_insert();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: post a reversing transaction instead', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_periods_append_only BEFORE UPDATE OR DELETE ON ledger_periods
FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Balances move only inside the postings trigger (trigger depth 2), never by hand.
CREATE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger accounts are never deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.balance IS DISTINCT FROM OLD.balance AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'a balance changes only by posting' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER ledger_accounts_guard BEFORE UPDATE OR DELETE ON ledger_accounts
FOR EACH ROW EXECUTE FUNCTION ledger_accounts_guard();

-- A transaction is reversed at most once.
CREATE UNIQUE INDEX ledger_transactions_reversed_once
ON ledger_transactions (reverses_txn_id) WHERE reverses_txn_id IS NOT NULL;
