"""Composition root: registers the product's blueprints and nothing else."""
import azure.durable_functions as df
import azure.functions as func

from batchinfer.api.health import blueprint as health_blueprint

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health_blueprint)
