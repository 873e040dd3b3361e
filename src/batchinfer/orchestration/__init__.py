"""Durable orchestrations: a batch job fans out shards, a shard fans out activity chunks."""
