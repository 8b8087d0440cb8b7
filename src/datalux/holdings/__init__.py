"""Data files stored under the storage root and registered to their holder organisation."""
