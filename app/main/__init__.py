"""The shell: home page, language switch, health check."""
