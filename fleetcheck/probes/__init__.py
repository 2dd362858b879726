"""The controller's own probes of a host's services, as a client sees them: DNS queries
(dns), HTTP and TLS (web), SMTP relay tests (smtp), requests through an HTTP
proxy from a bound source address (proxy). Each sends traffic only to the
address the inventory gives (a host's address, the inventory's nameservers), with
timeouts and bounded reads; none follows a name or a redirect elsewhere."""
