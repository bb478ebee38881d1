"""Minimal Neutron stand-in for the loopback test cloud.

The test cloud has no real networking service.  Nova still talks to Neutron
for servers booted with ``networks='none'``: it lists the ports of an
instance (security groups on show/list, deallocation on delete, port bindings
on unshelve), lists networks and reads the extension list.  This WSGI app
answers those calls as a Neutron with *no resources at all* would:

* ``GET /``, ``GET /v2.0`` (and ``/v2.0/``): version / resource documents;
* ``GET /v2.0/<collection>`` for any collection (ports, networks, subnets,
  extensions, security-groups, floatingips, ...): an empty list under the
  Neutron key for it, e.g. ``{"ports": []}``, ``{"security_groups": []}``;
* ``GET /v2.0/quotas/<project>``: unlimited quotas;
* ``GET|PUT|DELETE /v2.0/<collection>/<id>``: 404 ``<Resource>NotFound``,
  because nothing exists;
* anything else (creating a port or network, ...): 501 with a clear
  message, logged as ``UNSUPPORTED`` so a failing test shows what Nova wanted.

It never checks tokens. It is served by gunicorn on 127.0.0.1:9696 (see
``cloud.py``); run ``python neutron_standin.py [port]`` for a quick manual try.
"""

import json
import logging
import sys

LOG = logging.getLogger("neutron-standin")

# Collections whose JSON key is not simply the path with '-' -> '_'.
_KEYS = {
    "extensions": "extensions",
    "security-groups": "security_groups",
    "security-group-rules": "security_group_rules",
    "floatingips": "floatingips",
    "qos/policies": "policies",
    "address-scopes": "address_scopes",
    "subnetpools": "subnetpools",
    "port_forwardings": "port_forwardings",
}

_SINGULAR = {
    "ports": "Port",
    "networks": "Network",
    "subnets": "Subnet",
    "security-groups": "SecurityGroup",
    "security-group-rules": "SecurityGroupRule",
    "floatingips": "FloatingIP",
    "extensions": "Extension",
    "routers": "Router",
    "trunks": "Trunk",
}

_VERSION = {
    "id": "v2.0",
    "status": "CURRENT",
    "links": [{"rel": "self", "href": "http://127.0.0.1:9696/v2.0/"}],
}


def _json(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]


def _not_found(start_response, collection, item_id):
    kind = _SINGULAR.get(collection, "Resource")
    msg = f"{kind} {item_id} could not be found."
    return _json(start_response, "404 Not Found", {"NeutronError": {
        "type": f"{kind}NotFound", "message": msg, "detail": ""}})


def application(environ, start_response):
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/").rstrip("/") or "/"
    query = environ.get("QUERY_STRING", "")
    # Drain any request body so keep-alive connections stay in sync.
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length:
        environ["wsgi.input"].read(length)

    if path.endswith(".json"):
        path = path[:-5]

    if method in ("GET", "HEAD"):
        if path == "/":
            return _json(start_response, "200 OK", {"versions": [_VERSION]})
        if path == "/v2.0":
            return _json(start_response, "200 OK", {"resources": []})
    if path.startswith("/v2.0/"):
        rest = path[len("/v2.0/"):]
        parts = rest.split("/")
        if parts[0] == "qos" and len(parts) > 1:
            parts = ["qos/" + parts[1]] + parts[2:]
        collection = parts[0]
        if method in ("GET", "HEAD") and collection == "quotas":
            if len(parts) == 1:
                return _json(start_response, "200 OK", {"quotas": []})
            return _json(start_response, "200 OK", {"quota": {
                "network": -1, "subnet": -1, "port": -1, "router": -1,
                "floatingip": -1, "security_group": -1,
                "security_group_rule": -1}})
        if len(parts) == 1 and method in ("GET", "HEAD"):
            key = _KEYS.get(collection, collection.replace("-", "_"))
            return _json(start_response, "200 OK", {key: []})
        if len(parts) >= 2 and method in ("GET", "HEAD", "PUT", "DELETE"):
            return _not_found(start_response, collection, parts[1])

    LOG.warning("UNSUPPORTED %s %s?%s (the Neutron stand-in only answers "
                "as a Neutron without any resource)", method, path, query)
    return _json(start_response, "501 Not Implemented", {"NeutronError": {
        "type": "NotImplemented",
        "message": f"Neutron stand-in: {method} {path} is not supported",
        "detail": ""}})


logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(name)s %(levelname)s %(message)s")


if __name__ == "__main__":  # pragma: no cover - manual use only
    from wsgiref.simple_server import make_server

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9696
    make_server("127.0.0.1", port, application).serve_forever()
