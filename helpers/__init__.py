"""Workshop companion for AWS IoT Device Defender Audit."""
