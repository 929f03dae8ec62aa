# Deployable infrastructure and observability (included by the Makefile, which defines PY, VENV and STAMP).
# docs/deploy.md walks through a deployment; docs/observability.md explains the metrics.
STAGE ?= dev
PACKAGE_DIR ?= build/package
RUN_LOGS ?= .run/api.log .run/worker.log
METRICS_PNG ?= build/metrics.png

.PHONY: package package-edge vendor wheelhouse template lint-template metrics

template: $(STAMP)  ## write build/merge-template.json from infra/template.py (make package does this itself)
	$(PY) infra/template.py

vendor: $(STAMP)  ## unpack the hash-pinned Pillow manylinux wheel into vendor/ (downloads once)
	$(PY) infra/package.py vendor $(if $(OFFLINE),--offline)

wheelhouse: $(STAMP)  ## download every Lambda wheel into build/wheelhouse, so `make package OFFLINE=1` works offline
	$(PY) infra/package.py wheelhouse

package: $(STAMP)  ## build/package/{sam.json,deployment.zip,layer-deployment.zip} for STAGE=dev|prod (chalice package + merge template)
	$(PY) infra/package.py package --stage $(STAGE) --out $(PACKAGE_DIR) $(if $(OFFLINE),--offline)

lint-template: package  ## cfn-lint the packaged template (errors and warnings fail)
	$(VENV)/bin/cfn-lint $(PACKAGE_DIR)/sam.json

package-edge: $(STAMP)  ## build/package/{edge.json,edge.zip}: the CDN's Lambda@Edge resolver (us-east-1); EDGE_TABLE=<ImagesTableName> EDGE_TABLE_REGION=<region>
	@test -n "$(EDGE_TABLE)" -a -n "$(EDGE_TABLE_REGION)" || { echo "set EDGE_TABLE and EDGE_TABLE_REGION (the main stack's ImagesTableName output and region)"; exit 1; }
	$(PY) infra/edge.py --table $(EDGE_TABLE) --table-region $(EDGE_TABLE_REGION) --out $(PACKAGE_DIR)
	$(VENV)/bin/cfn-lint $(PACKAGE_DIR)/edge.json

metrics: $(STAMP)  ## table of the EMF metrics in the local stack's logs, and a latency/throughput chart
	$(PY) scripts/metrics.py $(RUN_LOGS) --png $(METRICS_PNG)
