"""The workflow layer: processes and read models that span the domain packages."""
