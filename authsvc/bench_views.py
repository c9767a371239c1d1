"""The floors `make bench` measures every endpoint against; mounted only with AUTHSVC_BENCH.

Served by the same process, middleware and settings as the real endpoints, so the ratio of
an endpoint to its floor is what the endpoint's own work costs.
"""

from django.http import JsonResponse
from rest_framework.response import Response
from rest_framework.views import APIView


def json_floor(request):
    return JsonResponse({"hello": "world"})


class DrfFloor(APIView):
    authentication_classes = ()
    permission_classes = ()
    schema = None  # a measuring stick, not part of the API: no OpenAPI operation

    def get(self, request):
        return Response({"hello": "world"})
