"""The single information point: a DCAT-AP 3 catalogue of every dataset, open or protected."""
