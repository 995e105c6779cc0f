"""docs/results.md's sections, one module each (benchmarks/results_doc.py writes the page)."""
