"""datalux: national data access and reuse platform."""
