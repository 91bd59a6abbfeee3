"""Differentially private aggregates: declarations, SQL pushdown, OpenDP noise, the privacy
ledger and the released-answer cache."""
