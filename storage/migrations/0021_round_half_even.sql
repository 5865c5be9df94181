-- 0021: exact half-even rounding of a quotient, for money computed set-based in SQL.
-- PostgreSQL's round(numeric) rounds half away from zero, and numeric division rounds
-- its result: neither is billing's rule (an exact amount, rounded half-even once where
-- it is posted, as billing.money.round_exact does with a Fraction). This rounds the
-- exact value num / den to `digits` decimals half-even, with integer arithmetic only:
-- q = num * 10^digits / den truncated, r its remainder; q moves away from zero when
-- |r / den| exceeds one half, or equals it and q is odd.
CREATE FUNCTION round_half_even(num numeric, den numeric, digits integer) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT trunc((q + CASE WHEN 2 * abs(r) > abs(den) OR (2 * abs(r) = abs(den) AND mod(q, 2) <> 0)
                           THEN sign(r) * sign(den) ELSE 0 END)
                 * power(10::numeric, -digits), digits)
    FROM (SELECT x.q, x.scaled - x.q * den AS r
          FROM (SELECT scaled, div(scaled, den) AS q
                FROM (SELECT num * power(10::numeric, digits) AS scaled) s) x) y
$$;
