from django.urls import path

from authsvc.routers import Router
from sessions_store.views import SessionViewSet

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
]
