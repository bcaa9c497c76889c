"""Check that pandas, polars and DuckDB read Agora's Parquet files.

Usage: python parquet_readers.py DIR [DIR ...]

Each DIR holds the output of `agora run --format both`. For both tables,
every reader must give the CSV's columns in order, its row count, and the
same values (pandas' reading of the CSV is the reference).
"""

import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl

INT_COLUMNS = {"run", "step", "agents", "trades"}
TEXT_COLUMNS = {"asset", "group", "price_source"}


def check(path: Path) -> str:
    # Read as text and parse with Python's float(), which rounds exactly.
    text = pd.read_csv(path.with_suffix(".csv"), dtype=str, keep_default_na=False)
    csv = pd.DataFrame(
        {
            c: text[c]
            if c in TEXT_COLUMNS
            else text[c].map(int if c in INT_COLUMNS else lambda x: float(x) if x else np.nan)
            for c in text.columns
        }
    )
    columns = list(csv.columns)
    pq = str(path)

    frames = {
        "pandas": pd.read_parquet(pq),
        "polars": pl.read_parquet(pq).to_pandas(),
        "duckdb": duckdb.sql(f"SELECT * FROM read_parquet('{pq}')").df(),
    }
    for reader, df in frames.items():
        where = f"{path} read by {reader}"
        assert list(df.columns) == columns, f"{where}: columns {list(df.columns)} != {columns}"
        assert len(df) == len(csv), f"{where}: {len(df)} rows != {len(csv)}"
        for c in columns:
            kind = df[c].dtype.kind
            if c in INT_COLUMNS:
                assert kind == "i", f"{where}: {c} is {df[c].dtype}, expected a signed integer"
            elif c in TEXT_COLUMNS:
                assert kind == "O" or str(df[c].dtype).startswith("str"), f"{where}: {c} is {df[c].dtype}"
            else:
                assert kind == "f", f"{where}: {c} is {df[c].dtype}, expected float"
        for c in columns:
            got, want = df[c].to_numpy(), csv[c].to_numpy()
            if c in TEXT_COLUMNS:
                same = [str(x) for x in got] == [str(x) for x in want]
            else:
                # Exact: the numbers are the f64s the CSV text reads back as.
                same = np.array_equal(got.astype(want.dtype), want, equal_nan=want.dtype.kind == "f")
            assert same, f"{where}: column {c} differs from the CSV"
    sql_types = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{pq}')").fetchall()
    types = ", ".join(f"{row[0]} {row[1]}" for row in sql_types)
    return f"ok {path}: {len(csv)} rows, same as the CSV in pandas, polars and DuckDB ({types})"


def main() -> None:
    dirs = [Path(d) for d in sys.argv[1:]]
    if not dirs:
        sys.exit(__doc__)
    print(f"pandas {pd.__version__}, polars {pl.__version__}, duckdb {duckdb.__version__}")
    for d in dirs:
        for name in ("assets.parquet", "agents.parquet"):
            print(check(d / name))


if __name__ == "__main__":
    main()
