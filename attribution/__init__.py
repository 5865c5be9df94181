"""Attribution: finance imports (interactions, orders, refunds, FX rates), the attribution
rule and GMV-share commissions, posted through ``billing``."""
