"""What the inventory-source tests serve: a dynamic inventory and two secrets."""

TOKEN = "tok-3c1f9a7e-SECRET-bearer"
PASSWORD = "pw-9d2e-SECRET-basic"

INVENTORY = {
    "_meta": {"hostvars": {
        "web1": {"ansible_host": "192.0.2.10", "role": "web", "env": 11, "online": True},
        "web2": {"ansible_host": "192.0.2.11", "role": "web", "env": 12},
        "db1": {"ansible_host": "192.0.2.20", "role": "db", "env": 11, "online": False,
                "ansible_port": 2222, "ansible_become": True, "ansible_become_method": "su"},
    }},
    "all": {"vars": {"ansible_user": "root", "dns": {"zone": "example.test"}},
            "children": ["web", "db"]},
    "web": {"hosts": ["web1", "web2"], "vars": {"tier": "front"}},
    "db": ["db1"],
}
