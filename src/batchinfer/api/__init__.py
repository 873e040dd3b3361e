"""HTTP edges of the product: one module per API dialect, each a Functions blueprint."""
