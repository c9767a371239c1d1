"""The one router class of the project's apps."""

from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    """DRF's SimpleRouter: trailing slashes, `path()` routes (the lookup's converter comes
    from the viewset's `lookup_value_converter`), and, unlike DefaultRouter, no API root
    view and no `.json` format-suffix routes, so every other URL stays a JSON 404."""

    def __init__(self):
        super().__init__(trailing_slash=True, use_regex_path=False)
        # "Session Detail" as OPTIONS named the views before they were viewsets.
        self.routes = [
            route._replace(initkwargs={**route.initkwargs, "suffix": "Detail"})
            if route.initkwargs.get("suffix") == "Instance"
            else route
            for route in self.routes
        ]
