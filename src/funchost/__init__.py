"""An embedded, pure-Python Azure Functions + Durable Functions host.

Runs an unchanged Python v2-model `function_app.py` locally: HTTP triggers, blob triggers by
polling, and Durable orchestrations/activities replayed through the real
`azure-functions-durable` SDK, with state in SQLite that survives a crash. It is generic and knows
nothing about the application it serves.
"""

__version__ = "0.1.0"
