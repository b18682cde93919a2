"""What a shared server needs and a notebook does not: worker processes that compute training runs
(``serve.runner``), the store of finished run records (``serve.records``), limits read from cgroups,
experiments by name (``serve.jobs``), the MNIST download, malloc settings and the workers' warm-up.
The maths they run is ``bn_core``'s; nothing here imports Streamlit."""
