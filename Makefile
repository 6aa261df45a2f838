# `make run`: install, then a load run on an embedded local fleet.  `make test`: install, then the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install sysdeps run test lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[agent,deploy,report,test,web]'
	touch $@

install: $(BIN)/.installed

# SIPp and Kamailio are the real peers of the integration tests; iproute2 gives network namespaces
# and tc (netem packet loss, where the kernel has sch_netem: kmod's modprobe may load it);
# nftables drops packets on kernels without netem; Chromium and its WebDriver (Selenium drives
# them) open the HTML report and the live dashboard in the browser tests.
sysdeps:
	@if ! command -v sipp >/dev/null || ! command -v kamailio >/dev/null || ! command -v ip >/dev/null \
	    || ! command -v tc >/dev/null || ! command -v nft >/dev/null || ! command -v modprobe >/dev/null \
	    || ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q sip-tester kamailio iproute2 nftables kmod \
	    chromium chromium-driver; \
	fi

run: install
	$(BIN)/callfleet run

lint: install
	$(BIN)/ruff check proto agent coordinator tests bench
	$(BIN)/mypy

test: install sysdeps lint
	$(BIN)/python -m pytest tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
