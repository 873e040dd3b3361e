"""The dataset inference API (the `woodwide` client's dialect), under `<route prefix>/woodwide`."""
