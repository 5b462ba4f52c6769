"""The migrations, one per schema version (revision ``"000N"``: version N)."""
