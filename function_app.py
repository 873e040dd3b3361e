"""Composition root: registers the product's blueprints and nothing else."""

import azure.durable_functions as df
import azure.functions as func

from batchinfer.activities.anomaly_triggers import blueprint as anomaly_activities
from batchinfer.activities.batch_triggers import blueprint as batch_activities
from batchinfer.activities.endpoint_triggers import blueprint as endpoint_activities
from batchinfer.activities.inbox_triggers import blueprint as inbox_activities
from batchinfer.activities.tabular_triggers import blueprint as tabular_activities
from batchinfer.api.anomaly_detector.routes import blueprint as anomaly_detector_api
from batchinfer.api.azureml.jobs import blueprint as azureml_jobs_api
from batchinfer.api.azureml.resources import blueprint as azureml_resources_api
from batchinfer.api.document_intelligence.rerun import blueprint as document_rerun_api
from batchinfer.api.document_intelligence.routes import blueprint as document_intelligence_api
from batchinfer.api.health import blueprint as health_api
from batchinfer.api.openapi.routes import openapi_blueprint
from batchinfer.api.ui.routes import blueprint as dashboard
from batchinfer.api.woodwide.routes import blueprint as woodwide_api
from batchinfer.inbox_trigger import blueprint as inbox_trigger
from batchinfer.orchestration.anomaly import blueprint as anomaly_orchestrations
from batchinfer.orchestration.batch import blueprint as batch_orchestrations
from batchinfer.orchestration.inbox import blueprint as inbox_orchestrations
from batchinfer.orchestration.tabular import blueprint as tabular_orchestrations

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health_api)
app.register_functions(document_intelligence_api)
app.register_functions(batch_orchestrations)
app.register_functions(batch_activities)
app.register_functions(anomaly_detector_api)
app.register_functions(anomaly_orchestrations)
app.register_functions(anomaly_activities)
app.register_functions(inbox_trigger)
app.register_functions(inbox_orchestrations)
app.register_functions(inbox_activities)
app.register_functions(document_rerun_api)
app.register_functions(dashboard)
app.register_functions(azureml_resources_api)
app.register_functions(azureml_jobs_api)
app.register_functions(endpoint_activities)
app.register_functions(woodwide_api)
app.register_functions(tabular_orchestrations)
app.register_functions(tabular_activities)
app.register_functions(openapi_blueprint(app))  # documents every route above
