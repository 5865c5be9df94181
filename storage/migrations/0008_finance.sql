-- 0008: what finance imports (interactions, order lines, refunds, FX rates), what
-- attribution decides (one asset per order), the commission state of each line, and
-- template contributors with their earnings and payouts. Money is posted in the ledger;
-- these tables say why. Every import is idempotent by its natural id.
-- The bulk tables (interactions, order_lines) check their merchant in the import's
-- staged-rows query rather than by row-level foreign keys: the import is their only
-- writer, and a per-row key check costs more than the rest of the insert. Ids compare
-- byte by byte (COLLATE "C"): they are codes, not words, and such indexes are cheaper.

CREATE TABLE interactions (
    event_id     text COLLATE "C" PRIMARY KEY,
    merchant_id  text COLLATE "C" NOT NULL,
    asset_id     bigint NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('click', 'view')),
    customer_key text COLLATE "C" NOT NULL,
    occurred_at  timestamptz NOT NULL,
    click_id     text COLLATE "C"
);
-- Rule 2 and 3: the latest click (view) of a customer before a moment.
CREATE INDEX interactions_customer
    ON interactions (merchant_id, customer_key, kind, occurred_at DESC);
-- Rule 1: the click an order carries.
CREATE INDEX interactions_click_id ON interactions (merchant_id, click_id)
    WHERE click_id IS NOT NULL;

CREATE TABLE order_lines (
    order_id     text COLLATE "C" NOT NULL,
    line_id      text COLLATE "C" NOT NULL,
    merchant_id  text COLLATE "C" NOT NULL,
    ordered_at   timestamptz NOT NULL,
    customer_key text COLLATE "C" NOT NULL,
    product_id   text NOT NULL,
    quantity     integer NOT NULL CHECK (quantity > 0),
    unit_price   numeric NOT NULL CHECK (unit_price >= 0),
    discount     numeric NOT NULL DEFAULT 0 CHECK (discount >= 0),
    currency     char(3) NOT NULL,
    click_id     text COLLATE "C",
    -- new -> accrued | unattributed | waiting (reason) | not_billed (no GMV-share terms)
    status       text NOT NULL DEFAULT 'new'
                 CHECK (status IN ('new', 'accrued', 'unattributed', 'waiting', 'not_billed')),
    reason       text,
    asset_id     bigint,
    contract_version integer,
    contract_currency char(3),
    fx_rate      numeric,
    -- net GMV in the contract currency, rounded to its minor unit
    net_gmv      numeric,
    rate         numeric,
    commission   numeric,
    txn_id       bigint,
    PRIMARY KEY (order_id, line_id),
    CHECK (discount <= quantity * unit_price)
);
CREATE INDEX order_lines_merchant ON order_lines (merchant_id, ordered_at);
CREATE INDEX order_lines_open ON order_lines (merchant_id) WHERE status <> 'accrued';

-- The one asset (or none) an order is attributed to, decided once per order.
CREATE TABLE order_attributions (
    order_id    text COLLATE "C" PRIMARY KEY,
    merchant_id text COLLATE "C" NOT NULL REFERENCES merchants,
    asset_id    bigint NOT NULL,
    rule        text NOT NULL CHECK (rule IN ('click_id', 'click', 'view')),
    event_id    text COLLATE "C" NOT NULL
);

CREATE TABLE refunds (
    refund_id   text COLLATE "C" PRIMARY KEY,
    order_id    text COLLATE "C" NOT NULL,
    line_id     text COLLATE "C" NOT NULL,
    merchant_id text COLLATE "C" NOT NULL REFERENCES merchants,
    refunded_at timestamptz NOT NULL,
    quantity    integer CHECK (quantity > 0),
    amount      numeric CHECK (amount > 0),
    -- refunded net GMV in the order's currency (a quantity refunds its share of the
    -- discount; zero for a line that was free after its discount)
    net_refund  numeric NOT NULL CHECK (net_refund >= 0),
    -- pending until its line has accrued; then clawed_back (or not_billed)
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'clawed_back', 'not_billed')),
    clawback    numeric,
    txn_id      bigint REFERENCES ledger_transactions,
    FOREIGN KEY (order_id, line_id) REFERENCES order_lines,
    CHECK ((quantity IS NULL) <> (amount IS NULL))
);
CREATE INDEX refunds_line ON refunds (order_id, line_id);

CREATE TABLE fx_rates (
    rate_date date NOT NULL,
    base      char(3) NOT NULL,
    quote     char(3) NOT NULL,
    -- one unit of base is worth ``rate`` units of quote
    rate      numeric NOT NULL CHECK (rate > 0),
    PRIMARY KEY (rate_date, base, quote)
);

-- A template's contributor earns a share of the revenue its materials bring in.
CREATE TABLE template_contributors (
    template    text PRIMARY KEY,
    contributor text NOT NULL CHECK (contributor ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'),
    share       numeric NOT NULL CHECK (share > 0 AND share <= 1)
);

CREATE TABLE contributor_earnings (
    period      date NOT NULL CHECK (period = date_trunc('month', period)),
    contributor text NOT NULL,
    merchant_id text COLLATE "C" NOT NULL REFERENCES merchants,
    currency    char(3) NOT NULL,
    revenue     numeric NOT NULL,
    amount      numeric NOT NULL CHECK (amount > 0),
    txn_id      bigint NOT NULL REFERENCES ledger_transactions,
    paid_txn_id bigint REFERENCES ledger_transactions,
    paid_reference text,
    PRIMARY KEY (period, contributor, merchant_id, currency)
);
