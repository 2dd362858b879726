# The lab's make targets; included by the root Makefile (`include lab/lab.mk`).
# Everything here needs root. See lab/README.md.
VENV ?= .venv
LAB_PY ?= $(VENV)/bin/python
# The venv (created by the root Makefile's $(STAMP) rule) every target below runs in.
STAMP ?= $(VENV)/.installed
N ?=

# Debian packages the lab and its probes need on the controller.
LAB_DEBS := debootstrap bind9-dnsutils smbclient nfs-common iproute2 util-linux \
	openssh-client apt-utils dpkg

.PHONY: lab-deps lab-rootfs lab-up lab-down lab-status lab-fault lab-heal lab-faults

lab-deps:
	@tools/apt-ensure $(LAB_DEBS)

lab-rootfs: lab-deps $(STAMP)
	$(LAB_PY) -m lab rootfs

lab-up: lab-deps $(STAMP)
	$(LAB_PY) -m lab up $(if $(N),--plain $(N))

lab-down: $(STAMP)
	$(LAB_PY) -m lab down

lab-status: $(STAMP)
	$(LAB_PY) -m lab status

lab-faults: $(STAMP)
	$(LAB_PY) -m lab faults

lab-fault: $(STAMP)
	@test -n "$(HOST)" -a -n "$(FAULT)" || { echo "usage: make lab-fault HOST=web1 FAULT=missing-ptr (make lab-faults lists them)" >&2; exit 2; }
	$(LAB_PY) -m lab fault $(HOST) $(FAULT)

lab-heal: $(STAMP)
	@test -n "$(HOST)" -a -n "$(FAULT)" || { echo "usage: make lab-heal HOST=web1 FAULT=missing-ptr" >&2; exit 2; }
	$(LAB_PY) -m lab heal $(HOST) $(FAULT)
