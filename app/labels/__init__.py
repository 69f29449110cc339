"""Label printing: sheet and roll templates in millimetres, vector QR codes, barcodes, PDF output."""
