"""Document Intelligence batch analysis (api-version 2024-11-30) over the batch jobs core."""
