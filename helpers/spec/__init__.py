"""AWS facts that the helpers and the local sandbox share: the audit check catalogue, the mitigation action types,
the IAM/IoT policy parser and evaluator, MQTT topic matching and the region list.

A leaf: it imports nothing from ``helpers`` above it, so aws-mode helpers can use it without loading the sandbox.
"""
