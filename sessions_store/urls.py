from django.urls import path

from authsvc.routers import Router
from sessions_store.views import SessionViewSet
from sessions_store.views_service import SessionClaimsView

router = Router()
router.register("sessions", SessionViewSet, basename="session")

urlpatterns = [
    *router.urls,
    # A collection action whose URL is not under the collection's (the contract's path).
    path(
        "logout-all/",
        SessionViewSet.as_view({"post": "logout_all"}, name="Logout All"),
        name="logout-all",
    ),
    # For service clients, not the user; any string reaches the view, so a malformed id is
    # the service's 404, after authentication, like an unknown one.
    path("sessions/<str:sid>/claims/", SessionClaimsView.as_view(), name="session-claims"),
]
