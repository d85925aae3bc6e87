"""Writers, one module per output format."""
