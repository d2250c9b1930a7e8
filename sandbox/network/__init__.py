"""The sandbox's network: loopback address pools, a kube-proxy-like ClusterIP proxy, cluster DNS, Ingress."""
