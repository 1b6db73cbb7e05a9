"""docs/asyncapi.yaml from the four services' FastStream brokers and the topic registry
(`python -m pars_asyncapi -o docs/asyncapi.yaml`; the code is in `generator.py`)."""
