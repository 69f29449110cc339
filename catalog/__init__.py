"""The catalogue: MARC21 records, copies, accession numbers, search, import and export."""
