"""The servers under comparison, each a private instance inside the working directory."""
