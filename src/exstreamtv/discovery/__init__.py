"""Network discovery: HDHomeRun UDP and SSDP."""
