"""BENCH_COUNT_SQL=1: count the SQL statements each request runs (X-Bench-SQL header).

Shared by both sites of the benchmark: bench/ is on their PYTHONPATH when counting.
"""

from django.db import connections


class CountSQLMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connections["default"].execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Bench-SQL"] = str(count)
        return response
