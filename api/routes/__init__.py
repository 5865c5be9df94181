"""One module per resource group; each handler makes one domain call."""
