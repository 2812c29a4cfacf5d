"""Built-in demo data: a stand-in Capillary that answers like the real one, for previews and trials."""
