"""Platform adapters: each turns platform updates into core requests and renders replies."""
