# Deployable infrastructure and observability (included by the Makefile, which defines PY, VENV and STAMP).
# docs/deploy.md walks through a deployment; docs/observability.md explains the metrics.
STAGE ?= dev
PACKAGE_DIR ?= build/package
RUN_LOGS ?= .run/api.log .run/worker.log
METRICS_PNG ?= build/metrics.png

.PHONY: package vendor wheelhouse template lint-template metrics

template: $(STAMP)  ## write build/merge-template.json from infra/template.py (make package does this itself)
	$(PY) infra/template.py

vendor: $(STAMP)  ## unpack the hash-pinned Pillow manylinux wheel into vendor/ (downloads once)
	$(PY) infra/package.py vendor $(if $(OFFLINE),--offline)

wheelhouse: $(STAMP)  ## download every Lambda wheel into build/wheelhouse, so `make package OFFLINE=1` works offline
	$(PY) infra/package.py wheelhouse

package: $(STAMP)  ## build/package/{sam.json,deployment.zip} for STAGE=dev|prod (chalice package + merge template)
	$(PY) infra/package.py package --stage $(STAGE) --out $(PACKAGE_DIR) $(if $(OFFLINE),--offline)

lint-template: package  ## cfn-lint the packaged template (errors and warnings fail)
	$(VENV)/bin/cfn-lint $(PACKAGE_DIR)/sam.json

metrics: $(STAMP)  ## table of the EMF metrics in the local stack's logs, and a latency/throughput chart
	$(PY) scripts/metrics.py $(RUN_LOGS) --png $(METRICS_PNG)
