"""The Fishnet executor app: runs researchers' algorithms on its timeslice, inside a sandbox."""
