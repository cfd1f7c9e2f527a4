"""Layer 3, storage: table schemas, Doc -> rows, the snapshot store, the readers and the
derived `claim_summary` (rows -> Parquet -> DataFrames)."""
