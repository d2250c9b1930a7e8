"""Admission: defaults, and the ResourceQuota and LimitRange plugins."""
