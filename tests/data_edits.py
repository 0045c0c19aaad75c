"""Edits of a copied data package that the data and fault tests make: one cell, one column."""

import csv


def edit_cell(data_dir, table, row_id, column, value):
    """Set one cell of a copied table; return the 1-based data row it is in."""
    path = data_dir / f"{table}.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    row = next(i for i, r in enumerate(rows) if i and r[0] == row_id)
    rows[row][header.index(column)] = value
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return row


def drop_column(data_dir, table, column):
    path = data_dir / f"{table}.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    index = rows[0].index(column)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(
            [r[:index] + r[index + 1:] for r in rows])
