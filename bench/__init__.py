"""Benchmarks: the ceiling page (`bench.ceiling`), the runner (`bench.run`).

    flask --app wsgi seed --scale large   # 100k products, 200k customers (core.demo.large)
    make bench                            # python -m bench.run: app vs ceiling, see BENCHMARKS.md
"""
