from __future__ import annotations

from sandbox.network.conversion import ingress_view, service_views
from sandbox.network.model import EndpointView, IngressBackendView, endpoint_port


def test_endpoints_subsets_and_slices_become_views() -> None:
    svc = {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "clusterIP": "None",
            "ports": [{"name": "http", "port": 80, "targetPort": "web"}, {"name": "admin", "port": 81}],
        },
    }
    eps = {
        "metadata": {"name": "web", "namespace": "shop"},
        "subsets": [
            {
                "addresses": [
                    {"ip": "127.1.0.1", "hostname": "web-0", "targetRef": {"kind": "Pod", "name": "p1"}}
                ],
                "notReadyAddresses": [{"ip": "127.1.0.2"}],
                "ports": [{"name": "http", "port": 8080}],
            },
            {"addresses": [{"ip": "127.1.0.1"}], "ports": [{"name": "admin", "port": 9000}]},
        ],
    }
    [view] = service_views([svc], [eps], [])
    assert view.headless
    assert view.endpoints == (
        EndpointView("127.1.0.1", True, {"http": 8080, "admin": 9000}, "web-0", "p1"),
        EndpointView("127.1.0.2", False, {"http": 8080}),
    )
    assert [endpoint_port(view.endpoints[0], p) for p in view.ports] == [8080, 9000]

    # Without an Endpoints object the Service's EndpointSlices are used; ready unset counts as ready.
    slice_ = {
        "metadata": {"name": "web-abc", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": ["127.1.0.5"], "conditions": {}},
            {"addresses": ["127.1.0.6"], "conditions": {"ready": False}},
        ],
        "ports": [{"name": "http", "port": 8080}],
    }
    [from_slices] = service_views([svc], [], [slice_])
    assert [(e.ip, e.ready) for e in from_slices.endpoints] == [("127.1.0.5", True), ("127.1.0.6", False)]


def test_ingress_view_reads_port_by_name_or_number() -> None:
    view = ingress_view(
        {
            "metadata": {"name": "greet-ingress", "namespace": "default"},
            "spec": {
                "defaultBackend": {"service": {"name": "fallback", "port": {"number": 80}}},
                "rules": [
                    {
                        "host": "greet.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": "greetclient", "port": {"name": "restgateway"}}
                                    },
                                }
                            ]
                        },
                    }
                ],
            },
        }
    )
    assert view.default_backend == IngressBackendView("fallback", 80, None)
    [rule] = view.rules
    assert rule.host == "greet.com"
    assert rule.paths[0].backend == IngressBackendView("greetclient", None, "restgateway")
