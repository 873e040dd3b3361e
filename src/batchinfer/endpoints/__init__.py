"""Azure ML batch endpoints on the jobs core: the workspace's resources (datastores, models, data
assets, endpoints, deployments), data URIs, scoring tasks and the job steps."""
