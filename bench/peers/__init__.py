"""The peers `make bench` times fleetcheck against: a naive testinfra suite (naive.py,
naive_testinfra/) and Ansible (ansible.py). See README.md."""
