"""Demo and load-test content: the hand-written "Northbank" workspace (content.py, build.py) and the
synthetic workspaces of any size used to measure performance (scale.py)."""
