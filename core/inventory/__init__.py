"""Stock levels per variant and warehouse."""
