"""The library network: administrative units with validity dates, libraries and rotation points."""
